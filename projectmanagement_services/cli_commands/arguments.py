"""argparse ``type=`` converters: a malformed value is a usage error (exit 2) naming the option."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from uuid import UUID

from projectmanagement_core.models import SprintStatus, WorkItemType

__all__ = ["date_argument", "sprint_status_argument", "uuid_argument", "work_item_type_argument"]


def uuid_argument(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {value!r}") from None


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
