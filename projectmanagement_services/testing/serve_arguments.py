"""``pm serve``'s flags for pm-server's connection rules, in a module that imports no server.

``pm --help`` builds every parser, ``pm serve``'s too; the server itself (``serve``) and websockets
are imported only when ``pm serve`` runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from projectmanagement_services.testing.connection_limits import (
    DEFAULT_DESKTOP_USER_ID,
    DEFAULT_HANDLER_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    check_handler_timeout,
    check_max_connections,
)

__all__ = ["add_connection_arguments"]


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``pm serve``'s flags for pm-server's connection rules (defaults are pm-server's)."""
    group = parser.add_argument_group("connection rules (as pm-server)")
    group.add_argument(
        "--max-connections",
        type=_optional(int, check_max_connections),
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N|none",
        help="open connections beyond which a handshake gets HTTP 503 (default: %(default)s)",
    )
    group.add_argument(
        "--handler-timeout",
        type=_optional(float, check_handler_timeout),
        default=DEFAULT_HANDLER_TIMEOUT,
        metavar="SECONDS|none",
        help="answer TIMEOUT when a request takes longer (default: %(default)s)",
    )
    group.add_argument(
        "--no-server-breaker",
        action="store_true",
        help="turn off pm-server's own circuit breaker (on by default, stuck open once tripped, as upstream)",
    )
    auth = group.add_mutually_exclusive_group()
    auth.add_argument(
        "--jwt-secret",
        default=None,
        metavar="SECRET",
        help="pm-server's auth: require an HS256 JWT signed with SECRET (>= 32 characters); sub is the user",
    )
    auth.add_argument(
        "--jwt-public-key",
        type=Path,
        default=None,
        metavar="PEM_FILE",
        help="pm-server's auth with RS256 JWTs checked against this public key",
    )
    group.add_argument(
        "--desktop-user-id",
        default=DEFAULT_DESKTOP_USER_ID,
        help="without auth, the user of a connection that sends no ?user_id= (default: %(default)s, "
        "not a UUID: a random user per connection)",
    )


def _optional(kind: Callable[[str], Any], check: Callable[[Any], Any]) -> Callable[[str], Any]:
    """An argparse type that reads ``none`` as None (the setting turned off) and checks the range."""

    def parse(text: str) -> Any:
        try:
            return check(None if text.strip().lower() == "none" else kind(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    parse.__name__ = kind.__name__
    return parse
