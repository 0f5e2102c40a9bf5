"""``pm config``: see the effective settings and where each came from, check them, remember a user.

``show`` prints the settings every client command would use (secrets masked), ``--sources`` adds
which file, environment variable or flag set each value. ``validate`` is for CI pipelines: exit 0
when the settings load, exit 2 with every bad key otherwise, and nothing is connected.
``set-user`` remembers the ``UserId`` client commands act as when no token or user id is given.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from projectmanagement_services.cli_commands.arguments import uuid_argument
from projectmanagement_services.cli_commands.command_helpers import Subparsers, add_group
from projectmanagement_services.cli_commands.errors import EXIT_OK
from projectmanagement_services.cli_commands.global_options import (
    add_client_parser,
    settings_and_sources_from_args,
)
from projectmanagement_services.cli_commands.identity import remember_user
from projectmanagement_services.cli_commands.output import Output

__all__ = ["add_config_command"]


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}:{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def _show(args: argparse.Namespace) -> int:
    output = Output(json_output=bool(getattr(args, "json", False)))
    settings, sources = settings_and_sources_from_args(args)
    document = settings.as_appsettings()
    if output.json_output:
        output.json({"settings": document, "sources": sources} if args.sources else document)
        return EXIT_OK
    for path, value in _leaves(document):
        shown = value if isinstance(value, str) else json.dumps(value)
        source = f"  ({sources.get(path, 'default')})" if args.sources else ""
        output.line(f"{path} = {shown}{source}")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    settings_and_sources_from_args(args)  # raises CliError (exit 2) listing every bad key
    Output().line("settings are valid")
    return EXIT_OK


def _set_user(args: argparse.Namespace) -> int:
    user_id = args.user or uuid.uuid4()
    path = remember_user(user_id)
    Output().line(f"client commands now act as user {user_id} when no token or --user-id is given ({path})")
    return EXIT_OK


def add_config_command(subparsers: Subparsers) -> None:
    """Register ``pm config show|validate|set-user``."""
    actions = add_group(subparsers, "config", "show, check and set the client's settings")
    parser = add_client_parser(
        actions,
        "show",
        help="print the effective settings, secrets masked",
        description="Print the effective settings (secrets masked). Example: pm config show --sources",
    )
    parser.add_argument(
        "--sources", action="store_true", help="also say which file, variable or flag set each value"
    )
    parser.set_defaults(handler=_show)
    parser = add_client_parser(
        actions,
        "validate",
        help="exit 0 when the settings load, 2 with every bad key otherwise",
        description="Check the settings without connecting, for CI. Example: pm config validate --environment Staging",
        json_output=False,
    )
    parser.set_defaults(handler=_validate)
    parser = actions.add_parser(
        "set-user",
        help="remember the user id client commands act as (open mode)",
        description="Remember a user id for client commands without a token or --user-id. "
        "Example: pm config set-user   (a new id), or pm config set-user 5f0c...",
    )
    parser.add_argument(
        "user", nargs="?", type=uuid_argument, metavar="UUID", help="the user id (default: a new random one)"
    )
    parser.set_defaults(handler=_set_user)
