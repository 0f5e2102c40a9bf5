"""Client-side request validation with pm-server v0.1.4's own limits.

The rules are read from pm-server's source, not guessed: ``pm-ws/src/message_validator.rs`` and the
handlers (what is checked, and when), ``pm-config/src/validation_config.rs`` (the default limits)
and the database's CHECK constraints (``pm-db/migrations``: what can be stored). The aim is that
the client never sends what pm-server would refuse and never refuses what it would accept; where
pm-server accepts a value its database then refuses ('blocked'), the client refuses it, naming why.

Every request is checked before anything is sent, and every broken rule is reported at once in
``ValidationException.errors`` (field name + rule), so a caller fixes all of them in one go.
Lengths count Unicode code points (``len(str)``), as pm-server does (``chars().count()``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

from projectmanagement_core.exceptions import FieldError, ValidationException
from projectmanagement_core.models import (
    STORED_WORK_ITEM_STATUSES,
    WORK_ITEM_PRIORITIES,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_core.uuids import parse_uuid

__all__ = [
    "DESCRIPTION_MAX",
    "POSITION_MAX",
    "PROJECT_KEY_MAX",
    "PROJECT_KEY_MIN",
    "SPRINT_DATES_FUTURE",
    "SPRINT_DATES_PAST",
    "SPRINT_NAME_MAX",
    "STORY_POINTS_MAX",
    "TITLE_MAX",
    "Request",
    "parse_uuid",
    "validate_request",
]

#: validation_config.rs defaults: titles (work items and projects), descriptions, sprint names.
TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 10_000
SPRINT_NAME_MAX: Final = 100
#: work_item.rs apply_updates: story points 0-100 (hard-coded there).
STORY_POINTS_MAX: Final = 100
#: message_validator.rs validate_project_create: 2-20 of ASCII letters, digits and "_".
PROJECT_KEY_MIN: Final = 2
PROJECT_KEY_MAX: Final = 20
_PROJECT_KEY: Final = re.compile(r"[A-Za-z0-9_]+")
#: message_validator.rs validate_sprint_create: both dates within a year ago .. five years ahead.
SPRINT_DATES_PAST: Final = timedelta(days=365)
SPRINT_DATES_FUTURE: Final = timedelta(days=5 * 365)
#: Versions and positions travel as int32: a larger value passes the ">= N" rule but would make the
#: converter fail with a bare ValueError, so it is rejected here with its field.
_INT32_MAX: Final = 2**31 - 1
#: pm-server accepts any position >= 0 and gives the next child of the same parent ``max + 1`` cast
#: to int32, so a stored ``2**31 - 1`` would break (wrap) every later create under that parent: the
#: client stops one short of it.
POSITION_MAX: Final = _INT32_MAX - 1
Request = (
    CreateWorkItemRequest
    | UpdateWorkItemRequest
    | CreateSprintRequest
    | UpdateSprintRequest
    | CreateProjectRequest
    | UpdateProjectRequest
)


class _Errors:
    """Collects field errors so that all of them are reported together."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field, message))

    def length(self, field: str, value: str | None, low: int, high: int) -> None:
        if value is None or not self.text(field, value):
            return
        n = len(value)
        if n < low or n > high:
            rule = f"must be at most {high} characters" if low == 0 else f"must be {low}-{high} characters"
            self.add(field, f"{rule} (got {n})")

    def text(self, field: str, value: str | None) -> bool:
        """Whether ``value`` can travel as protobuf text (UTF-8). A lone surrogate (from
        ``surrogateescape`` decoding, a bad JSON escape...) cannot, and would otherwise fail deep
        inside the encoder as a bare ``UnicodeEncodeError``; reported here with its field."""
        if value is None:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            self.add(field, f"is not valid Unicode text: a lone surrogate at index {exc.start}")
            return False
        return True

    def status(self, value: str | None) -> None:
        if value == "blocked":
            self.add(
                "status",
                "'blocked' cannot be stored: pm-server accepts it but its database refuses it "
                f"(DATABASE_ERROR); use one of {', '.join(STORED_WORK_ITEM_STATUSES)}",
            )
        else:
            self.one_of("status", value, STORED_WORK_ITEM_STATUSES)

    def one_of(self, field: str, value: str | None, allowed: tuple[str, ...]) -> None:
        if value is not None and value not in allowed:
            self.add(field, f"must be one of {', '.join(allowed)} (got {value!r})")

    def within(self, field: str, value: int | None, low: int, high: int | None = None) -> None:
        if value is None:
            return
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            self.add(field, f"must be {bound} (got {value})")

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationException(self.items)


def _create_work_item(r: CreateWorkItemRequest, e: _Errors, now: datetime) -> None:
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)
    e.status(r.status)
    e.one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
    if r.item_type is WorkItemType.EPIC and r.parent_id is not None:
        e.add("parent_id", "an epic has no parent")


def _update_work_item(r: UpdateWorkItemRequest, e: _Errors, now: datetime) -> None:
    e.within("expected_version", r.expected_version, 1, _INT32_MAX)
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)
    e.status(r.status)
    e.one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
    e.within("story_points", r.story_points, 0, STORY_POINTS_MAX)
    e.within("position", r.position, 0, POSITION_MAX)
    if r.parent_id is not None and r.parent_id == r.work_item_id:
        e.add("parent_id", "an item cannot be its own parent")


def _sprint_date_in_range(field: str, value: datetime, now: datetime, e: _Errors) -> None:
    earliest, latest = now - SPRINT_DATES_PAST, now + SPRINT_DATES_FUTURE
    if value < earliest or value > latest:
        e.add(
            field,
            f"must be between a year ago and five years ahead ({earliest:%Y-%m-%d} - {latest:%Y-%m-%d})",
        )


def _create_sprint(r: CreateSprintRequest, e: _Errors, now: datetime) -> None:
    e.length("name", r.name, 1, SPRINT_NAME_MAX)
    e.text("goal", r.goal)
    if r.start_date >= r.end_date:
        e.add("end_date", "must be after start_date")
    _sprint_date_in_range("start_date", r.start_date, now, e)
    _sprint_date_in_range("end_date", r.end_date, now, e)


def _update_sprint(r: UpdateSprintRequest, e: _Errors, now: datetime) -> None:
    # pm-server checks neither the order nor the range of dates on update (a quirk the README
    # lists); refusing them here would refuse what it accepts.
    e.within("expected_version", r.expected_version, 1, _INT32_MAX)
    e.length("name", r.name, 1, SPRINT_NAME_MAX)
    e.text("goal", r.goal)


def _project_key(key: str, e: _Errors) -> None:
    e.length("key", key, PROJECT_KEY_MIN, PROJECT_KEY_MAX)
    if key and not _PROJECT_KEY.fullmatch(key):
        e.add("key", "must use only letters, digits and _ (A-Z, a-z, 0-9, _)")


def _create_project(r: CreateProjectRequest, e: _Errors, now: datetime) -> None:
    _project_key(r.key, e)
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)


def _update_project(r: UpdateProjectRequest, e: _Errors, now: datetime) -> None:
    e.within("expected_version", r.expected_version, 1, _INT32_MAX)
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)


_RULES: dict[type, Callable[..., None]] = {
    CreateWorkItemRequest: _create_work_item,
    UpdateWorkItemRequest: _update_work_item,
    CreateSprintRequest: _create_sprint,
    UpdateSprintRequest: _update_sprint,
    CreateProjectRequest: _create_project,
    UpdateProjectRequest: _update_project,
}


def validate_request(request: Request, *, now: datetime | None = None) -> None:
    """Raise ``ValidationException`` listing every rule ``request`` breaks; return if it is valid.

    ``now`` (default: the wall clock, UTC) anchors the sprint date range, as pm-server's clock does.
    """
    rule = next((r for cls, r in _RULES.items() if isinstance(request, cls)), None)
    if rule is None:
        raise TypeError(f"validate_request does not know {type(request).__name__}")
    errors = _Errors()
    rule(request, errors, now if now is not None else datetime.now(UTC))
    errors.raise_if_any()
