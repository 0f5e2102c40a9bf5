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

from projectmanagement_services.cli_commands.command_settings import (
    settings_and_sources_from_args,
)
from projectmanagement_services.cli_commands.errors import EXIT_OK
from projectmanagement_services.cli_commands.identity import remember_user
from projectmanagement_services.cli_commands.output import Output

__all__ = ["set_user", "show_config", "validate_config"]


def _leaves(node: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}:{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            yield from _leaves(value, path)
        else:
            yield path, value


def show_config(args: argparse.Namespace) -> int:
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


def validate_config(args: argparse.Namespace) -> int:
    settings_and_sources_from_args(args)  # raises CliError (exit 2) listing every bad key
    Output().line("settings are valid")
    return EXIT_OK


def set_user(args: argparse.Namespace) -> int:
    user_id = args.user or uuid.uuid4()
    path = remember_user(user_id)
    Output().line(f"client commands now act as user {user_id} when no token or --user-id is given ({path})")
    return EXIT_OK
