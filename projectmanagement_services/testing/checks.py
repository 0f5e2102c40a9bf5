"""Field checks with the limits of protocol.md, each raising the error code pm-server uses.

protocol.md splits the codes: a length or date rule broken is INVALID_MESSAGE, any other invalid field
(not a UUID, unknown status, out-of-range number, broken hierarchy) is VALIDATION_ERROR. Both name the
field, so a client can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from uuid import UUID

from projectmanagement_services.testing.rejection import RequestRejected

__all__ = [
    "DESCRIPTION_MAX",
    "INVALID_MESSAGE",
    "PROJECT_KEY",
    "PROJECT_NAME_MAX",
    "SPRINT_NAME_MAX",
    "STORY_POINTS_MAX",
    "TITLE_MAX",
    "VALIDATION_ERROR",
    "require_dates_ordered",
    "require_length",
    "require_one_of",
    "require_range",
    "require_uuid",
]

VALIDATION_ERROR: Final = "VALIDATION_ERROR"
INVALID_MESSAGE: Final = "INVALID_MESSAGE"

TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 10_000
SPRINT_NAME_MAX: Final = 100
PROJECT_NAME_MAX: Final = 100
STORY_POINTS_MAX: Final = 100
PROJECT_KEY: Final = re.compile(r"[A-Z][A-Z0-9]{0,9}")


def require_uuid(field: str, value: str) -> None:
    """Ids are UUID strings in any of the spellings Python's ``UUID`` accepts."""
    try:
        UUID(value)
    except ValueError:
        raise RequestRejected(VALIDATION_ERROR, f"{field} must be a UUID (got {value!r})", field) from None


def require_length(field: str, value: str, low: int, high: int) -> None:
    """Lengths count Unicode code points, as pm-server does."""
    n = len(value)
    if not low <= n <= high:
        raise RequestRejected(INVALID_MESSAGE, f"{field} must be {low}-{high} characters (got {n})", field)


def require_one_of(field: str, value: str, allowed: Iterable[str]) -> None:
    options = tuple(allowed)
    if value not in options:
        raise RequestRejected(
            VALIDATION_ERROR, f"{field} must be one of {', '.join(options)} (got {value!r})", field
        )


def require_range(field: str, value: int, low: int, high: int | None = None) -> None:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise RequestRejected(VALIDATION_ERROR, f"{field} must be {bound} (got {value})", field)


def require_dates_ordered(start: int, end: int) -> None:
    if start >= end:
        raise RequestRejected(
            INVALID_MESSAGE, f"end_date must be after start_date (got {start} >= {end})", "end_date"
        )
