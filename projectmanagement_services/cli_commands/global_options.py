"""The options every client command shares, on the parser: plain argparse, nothing imported.

How they become ``AppSettings`` is ``command_settings``, loaded when a command runs.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

from projectmanagement_services.cli_commands.vocabulary import OTEL_EXPORTERS

__all__ = ["TOKEN_VARIABLE", "add_client_parser", "add_global_options"]

#: Read for the bearer token when ``--token`` is absent (keeps it out of shell history and ``ps``).
TOKEN_VARIABLE: Final = "PM_TOKEN"


def add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Add the shared options to ``parser``.

    The top-level parser gets real defaults; each subcommand gets the same options with
    ``SUPPRESS`` defaults, so ``pm --server-url X items list`` and ``pm items list --server-url X``
    both work and a subcommand never resets what was given before it.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("settings and connection")
    group.add_argument(
        "--config",
        metavar="PATH",
        default=default(None),
        help="appsettings file (default: ./appsettings.json when present, else built-in defaults)",
    )
    group.add_argument(
        "--environment",
        metavar="NAME",
        default=default(None),
        help="also layer appsettings.NAME.json (default: $PM_ENVIRONMENT)",
    )
    group.add_argument(
        "--server-url", metavar="URL", default=default(None), help="ws:// or wss:// URL of the server"
    )
    group.add_argument(
        "--token",
        metavar="TOKEN",
        default=default(None),
        help=f"bearer token (default: ${TOKEN_VARIABLE}, else the settings' AuthToken)",
    )
    group.add_argument(
        "--user-id", metavar="UUID", default=default(None), help="identity in open mode (?user_id=)"
    )
    group.add_argument(
        "--otel",
        choices=OTEL_EXPORTERS,
        default=default(None),
        help="telemetry exporter (default: the settings' Telemetry:Exporter)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default(0),
        help="show the client's log: -v info, -vv debug (on stderr)",
    )


def add_client_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    description: str | None = None,
    json_output: bool = True,
) -> argparse.ArgumentParser:
    """A subcommand that talks to a server: the shared options, and ``--json`` where it prints data."""
    parser = subparsers.add_parser(name, help=help, description=description or help)
    add_global_options(parser, suppress=True)
    if json_output:
        parser.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS,  # so that ``pm --json items list`` is not reset here
            help="print JSON for scripts instead of tables",
        )
    return parser
