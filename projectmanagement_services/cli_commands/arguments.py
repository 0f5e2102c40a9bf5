"""argparse ``type=`` converters: a malformed value is a usage error (exit 2) naming the option.

They run while the arguments are parsed, never while the parser is built: an enum converter
checks the word against ``vocabulary`` and imports the model's enum only to return its member, so
``pm --help`` loads no model.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
from uuid import UUID

from projectmanagement_core.uuids import parse_uuid
from projectmanagement_services.cli_commands.vocabulary import (
    CLEAR,
    CLEAR_WORD,
    PROJECT_STATUSES,
    SPRINT_STATUSES,
    WORK_ITEM_TYPES,
)

if TYPE_CHECKING:
    from datetime import datetime

    from projectmanagement_core.models import ProjectStatus, SprintStatus, WorkItemType

__all__ = [
    "CLEAR_WORD",
    "clearable_uuid_argument",
    "date_argument",
    "project_status_argument",
    "sprint_status_argument",
    "uuid_argument",
    "work_item_type_argument",
]


def uuid_argument(value: str) -> UUID:
    """A UUID in a spelling pm-server accepts (hyphenated, simple, braced or urn:uuid:)."""
    try:
        return parse_uuid(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {value!r}") from None


def clearable_uuid_argument(value: str) -> UUID | str:
    """A UUID, or ``none`` (or an empty string) for "clear this field": returns ``CLEAR`` then."""
    if value.strip().lower() in (CLEAR_WORD, CLEAR):
        return CLEAR
    try:
        return parse_uuid(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID (or '{CLEAR_WORD}' to clear): {value!r}") from None


def date_argument(value: str) -> datetime:
    """``2025-01-06`` (midnight UTC) or an ISO 8601 date-time; without an offset it is read as UTC.

    UTC rather than local time: the wire carries UTC seconds, and a silent local-time guess would
    shift every date by the host's offset.
    """
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {value!r} (e.g. 2025-01-06)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _word(value: str, words: tuple[str, ...]) -> str:
    """The one of ``words`` that ``value`` spells, in any case."""
    for word in words:
        if word.lower() == value.lower():
            return word
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(words)}")


def work_item_type_argument(value: str) -> WorkItemType:
    word = _word(value, WORK_ITEM_TYPES)
    from projectmanagement_core.models import WorkItemType

    return WorkItemType(word)


def sprint_status_argument(value: str) -> SprintStatus:
    word = _word(value, SPRINT_STATUSES)
    from projectmanagement_core.models import SprintStatus

    return SprintStatus(word)


def project_status_argument(value: str) -> ProjectStatus:
    word = _word(value, PROJECT_STATUSES)
    from projectmanagement_core.models import ProjectStatus

    return ProjectStatus(word)
