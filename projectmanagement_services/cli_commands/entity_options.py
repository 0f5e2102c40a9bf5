"""What the entity commands share: the ``--project`` and ``--version`` options, the version lookup,
the example line of a command's help."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from projectmanagement_services.cli_commands.addressing import project_ref_argument
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, CliError

if TYPE_CHECKING:
    from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient

__all__ = ["add_project_option", "add_version_options", "current_version", "example"]


class _Versioned(Protocol):
    """A work item or a sprint, as far as finding its version goes (no model import for ``--help``)."""

    @property
    def id(self) -> UUID: ...

    @property
    def version(self) -> int: ...


async def current_version(
    fetch: Callable[[UUID], Awaitable[Sequence[_Versioned]]],
    client: ResilientWebSocketClient,
    entity_id: UUID,
    project_id: UUID | None,
    kind: str,
) -> int:
    """The entity's version now: looked up in ``project_id``, else in every project on the server."""
    projects: Sequence[UUID] = (
        (project_id,) if project_id is not None else [p.id for p in await client.list_projects()]
    )
    for candidate in projects:
        for entity in await fetch(candidate):
            if entity.id == entity_id:
                return entity.version
    where = f"project {project_id}" if project_id is not None else "any project"
    raise CliError(f"{kind} {entity_id} not found in {where}", EXIT_FAILED)


def add_project_option(
    parser: argparse.ArgumentParser, *, required: bool = True, help: str = "the project"
) -> None:
    """``--project ID|KEY``: an id, or a key looked up once connected (``addressing``)."""
    parser.add_argument(
        "--project",
        required=required,
        type=project_ref_argument,
        metavar="ID|KEY",
        help=f"{help}: its id or key",
    )


def example(command: str) -> str:
    """A command's description line: every command shows one example in its ``--help``."""
    return f"Example: {command}"


def add_version_options(parser: argparse.ArgumentParser) -> None:
    """``--version`` (optimistic concurrency) and the ``--project`` to find the current one in."""
    parser.add_argument(
        "--version",
        type=int,
        help="expected version (optimistic concurrency); default: read the current one first",
    )
    add_project_option(parser, required=False, help="where to look up the current version")
