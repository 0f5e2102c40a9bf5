"""Addressing entities as people do: a project by its key (``--project PM``), an item by ``PM-4``.

pm-server's protocol knows only ids, so a key or an item number is looked up (list the projects,
then the project's items) once connected. Requests are still built and validated before
connecting, with ``PLANNED`` standing in for an id that is not known yet; ``resolve_*`` then gives
the real one and the command swaps it in.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Final, NamedTuple, TypeAlias
from uuid import UUID

from projectmanagement_core.uuids import parse_uuid
from projectmanagement_services.cli_commands.arguments import CLEAR_WORD, clearable_uuid_argument
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, CliError

if TYPE_CHECKING:
    from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient

__all__ = [
    "PLANNED",
    "ItemNumber",
    "ItemRef",
    "ProjectRef",
    "clearable_item_ref_argument",
    "item_ref_argument",
    "planned",
    "project_ref_argument",
    "resolve_item",
    "resolve_project",
]

#: Stands in for an id that is looked up once connected (never sent: swapped before sending).
PLANNED: Final = UUID(int=0)
_KEY: Final = re.compile(r"^[A-Za-z0-9_]{2,20}$")
_ITEM_NUMBER: Final = re.compile(r"^(?P<key>[A-Za-z0-9_]{2,20})-(?P<number>\d{1,9})$")


class ItemNumber(NamedTuple):
    """``PM-4``: work item number 4 of the project whose key is PM.

    A NamedTuple, not a frozen dataclass: ``dataclasses`` (with ``inspect``) would cost ``pm --help``
    about 10 ms, and this module is imported to build the parser.
    """

    key: str
    number: int

    def __str__(self) -> str:
        return f"{self.key}-{self.number}"


#: A project id, or a project key.
ProjectRef: TypeAlias = UUID | str
#: A work item id, or a project key and item number.
ItemRef: TypeAlias = UUID | ItemNumber


def project_ref_argument(value: str) -> ProjectRef:
    """A project id (UUID) or key (``PM``)."""
    try:
        return parse_uuid(value)
    except ValueError:
        pass
    if _KEY.match(value):
        return value
    raise argparse.ArgumentTypeError(f"not a project id or key: {value!r} (e.g. PM)")


def item_ref_argument(value: str) -> ItemRef:
    """A work item id (UUID) or ``KEY-NUMBER`` (``PM-4``)."""
    try:
        return parse_uuid(value)
    except ValueError:
        pass
    match = _ITEM_NUMBER.match(value)
    if match:
        return ItemNumber(match["key"], int(match["number"]))
    raise argparse.ArgumentTypeError(f"not a work item id or number: {value!r} (e.g. PM-4)")


def clearable_item_ref_argument(value: str) -> ItemRef | str:
    """An item (id or PM-3), or ``none`` for "clear this field"."""
    cleared = clearable_uuid_argument(value) if value.strip().lower() in (CLEAR_WORD, "") else None
    return cleared if cleared is not None else item_ref_argument(value)


def planned(ref: ProjectRef | ItemRef | None) -> UUID | None:
    """The id to build a request with before connecting: the id itself, or ``PLANNED``."""
    if ref is None or isinstance(ref, UUID):
        return ref
    return PLANNED


async def resolve_project(client: ResilientWebSocketClient, ref: ProjectRef) -> UUID:
    """The project's id: ``ref`` itself, or the live project whose key matches (case-insensitive)."""
    if isinstance(ref, UUID):
        return ref
    for project in await client.list_projects():
        if project.key.lower() == ref.lower():
            return project.id
    raise CliError(f"no project with key {ref} (see pm projects list)", EXIT_FAILED)


async def resolve_item(client: ResilientWebSocketClient, ref: ItemRef) -> UUID:
    """The work item's id: ``ref`` itself, or the live item numbered ``ref.number`` in its project."""
    if isinstance(ref, UUID):
        return ref
    project_id = await resolve_project(client, ref.key)
    for item in await client.get_work_items(project_id):
        if item.item_number == ref.number and not item.is_deleted:
            return item.id
    raise CliError(f"no work item {ref} (see pm items list --project {ref.key})", EXIT_FAILED)
