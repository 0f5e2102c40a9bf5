"""What the entity commands share: sub-command groups, output of one result, the "nothing to do" check."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from projectmanagement_services.cli_commands.errors import EXIT_OK, EXIT_USAGE, CliError

if TYPE_CHECKING:
    from projectmanagement_services.cli_commands.output import Output

__all__ = ["Subparsers", "add_group", "require_changes", "show"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_group(subparsers: Subparsers, name: str, help: str) -> Subparsers:
    """``pm NAME ACTION``: a command whose sub-commands are its actions."""
    parser = subparsers.add_parser(name, help=help, description=help)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def show(output: Output, value: Any, render: Callable[[], Any]) -> int:
    """``value`` as JSON with ``--json``, else what ``render`` makes of it (a line or a table)."""
    if output.json_output:
        output.json(value)
    else:
        rendered = render()
        if isinstance(rendered, str):
            output.line(rendered)
        else:
            output.table(rendered)
    return EXIT_OK


def require_changes(changes: dict[str, object], options: str) -> None:
    """An update that sets nothing is a usage error, not a request."""
    if not changes:
        raise CliError(f"nothing to update: give at least one of {options}", EXIT_USAGE)
