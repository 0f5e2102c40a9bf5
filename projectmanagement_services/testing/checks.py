"""Field rules of pm-server (``message_validator.rs``, the handlers' helpers), with its error texts.

Which code a broken rule answers is pm-server's, not a tidy scheme: ``MessageValidator`` rules (lengths,
sprint create dates, project keys) are INVALID_MESSAGE without a field; rules written in the handlers
(UUIDs, statuses, priorities, story points, hierarchy, and the description length on update) are
VALIDATION_ERROR naming the field.
"""

from __future__ import annotations

import re
from typing import Final

from projectmanagement_services.testing.identity import parse_upstream_uuid
from projectmanagement_services.testing.rejection import invalid_message, validation_error

__all__ = [
    "DESCRIPTION_MAX",
    "FIRST_READABLE_SECOND",
    "INT32_MAX",
    "LAST_READABLE_SECOND",
    "PRIORITIES",
    "SPRINT_FUTURE_SECONDS",
    "SPRINT_NAME_MAX",
    "SPRINT_PAST_SECONDS",
    "STORY_POINTS_MAX",
    "TITLE_MAX",
    "WORK_ITEM_STATUSES",
    "parse_uuid",
    "require_int32",
    "require_project_key",
    "require_readable_date",
    "require_sprint_dates",
    "require_string",
    "sanitize",
]

# pm-config's ValidationConfig defaults.
TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 10_000
SPRINT_NAME_MAX: Final = 100
STORY_POINTS_MAX: Final = 100
#: validate_sprint_create: both dates within one year before and five years after now.
SPRINT_PAST_SECONDS: Final = 365 * 24 * 60 * 60
SPRINT_FUTURE_SECONDS: Final = 5 * 365 * 24 * 60 * 60

#: What the update handler's validate_status accepts; the table's CHECK refuses 'blocked'.
WORK_ITEM_STATUSES: Final = ("backlog", "todo", "in_progress", "review", "done", "blocked")
PRIORITIES: Final = ("low", "medium", "high", "critical")

#: The largest value of an int32 wire field (position, version, item_number, story_points).
INT32_MAX: Final = 2**31 - 1
#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the dates RFC 3339 (four-digit years) and Python's
#: ``datetime`` can hold. chrono goes to year 262143, so pm-server stores dates no client here can read.
FIRST_READABLE_SECOND: Final = -62_135_596_800
LAST_READABLE_SECOND: Final = 253_402_300_799

_KEY_CHARS: Final = re.compile(r"[A-Za-z0-9_]*")
#: Unicode White_Space, what Rust's ``str::trim`` strips (Python's ``strip()`` also strips U+001C-U+001F).
_WHITE_SPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def parse_uuid(value: str, field: str, message: str | None = None) -> str:
    """The canonical (lower-case hyphenated) spelling of ``value``, as pm-server stores ids.

    Stricter than Python's ``uuid.UUID`` on purpose: it accepts only what the Rust ``uuid`` crate does
    (no stray hyphens, no lone braces, no ``uuid:`` prefix).
    """
    parsed = parse_upstream_uuid(value)
    if parsed is None:
        raise validation_error(message or f"Invalid UUID format for {field}", field)
    return str(parsed)


def require_string(value: str, field: str, low: int, high: int) -> None:
    """``MessageValidator::validate_string``: lengths in code points of the raw (untrimmed) text."""
    n = len(value)
    if n < low:
        raise invalid_message(f"{field} must be at least {low} characters")
    if n > high:
        raise invalid_message(f"{field} must not exceed {high} characters")


def sanitize(value: str) -> str:
    """pm-server's ``sanitize_string``: stored text is trimmed (after the length checks)."""
    return value.strip(_WHITE_SPACE)


def require_project_key(key: str) -> None:
    """2-20 bytes (Rust ``len()``), then ASCII letters, digits and underscores only."""
    if not 2 <= len(key.encode()) <= 20:
        raise invalid_message("key must be 2-20 characters")
    if not key.isascii() or not _KEY_CHARS.fullmatch(key):
        raise invalid_message("key must contain only letters, numbers, and underscores")


def require_sprint_dates(start: int, end: int, now: int) -> None:
    """``validate_sprint_create``: start before end, both within a year back and five years ahead."""
    if start >= end:
        raise invalid_message("start_date must be before end_date")
    low, high = now - SPRINT_PAST_SECONDS, now + SPRINT_FUTURE_SECONDS
    if not low <= start <= high:
        raise invalid_message("start_date is outside reasonable range")
    if not low <= end <= high:
        raise invalid_message("end_date is outside reasonable range")


def require_readable_date(seconds: int, field: str, message: str) -> None:
    """A date every client can decode (years 1-9999); **ref**: pm-server accepts chrono's whole range.

    Beyond chrono's range pm-server answers VALIDATION_ERROR on the field (``from_timestamp`` is None);
    the reference server answers the same, with the same text, from year 10000 on, instead of storing
    a sprint that makes every client's list of sprints fail to convert.
    """
    if not FIRST_READABLE_SECOND <= seconds <= LAST_READABLE_SECOND:
        raise validation_error(message, field)


def require_int32(value: int, field: str, message: str) -> int:
    """A value the server computed (next position, version, number) that must fit its int32 field.

    pm-server casts with ``as i32``, which wraps to a negative number; the reference server refuses.
    """
    if value > INT32_MAX:
        raise validation_error(message, field)
    return value
