"""argparse ``type=`` converters: a malformed value is a usage error (exit 2) naming the option."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from uuid import UUID

from projectmanagement_core.models import CLEAR, ProjectStatus, SprintStatus, WorkItemType
from projectmanagement_core.validation import parse_uuid

__all__ = [
    "CLEAR_WORD",
    "clearable_uuid_argument",
    "date_argument",
    "project_status_argument",
    "sprint_status_argument",
    "uuid_argument",
    "work_item_type_argument",
]

#: What clears an id option on the command line (``--assignee none``); "" is accepted too.
CLEAR_WORD = "none"


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
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date: {value!r} (e.g. 2025-01-06)") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def work_item_type_argument(value: str) -> WorkItemType:
    for member in WorkItemType:
        if member.value.lower() == value.lower():
            return member
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(m.value for m in WorkItemType)}")


def sprint_status_argument(value: str) -> SprintStatus:
    for member in SprintStatus:
        if member.value.lower() == value.lower():
            return member
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(m.value for m in SprintStatus)}")


def project_status_argument(value: str) -> ProjectStatus:
    for member in ProjectStatus:
        if member.value.lower() == value.lower():
            return member
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(m.value for m in ProjectStatus)}")
