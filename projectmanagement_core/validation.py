"""Client-side request validation with the limits of protocol.md.

Every request is checked before anything is sent, and every broken rule is reported at once in
``ValidationException.errors`` (field name + rule), so a caller fixes all of them in one go.
Lengths count Unicode code points (``len(str)``), as pm-server does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from projectmanagement_core.exceptions import FieldError, ValidationException
from projectmanagement_core.models import (
    WORK_ITEM_PRIORITIES,
    WORK_ITEM_STATUSES,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)

__all__ = [
    "DESCRIPTION_MAX",
    "PROJECT_KEY_MAX",
    "PROJECT_NAME_MAX",
    "SPRINT_NAME_MAX",
    "STORY_POINTS_MAX",
    "TITLE_MAX",
    "Request",
    "validate_request",
]

TITLE_MAX: Final = 200
DESCRIPTION_MAX: Final = 10_000
SPRINT_NAME_MAX: Final = 100
STORY_POINTS_MAX: Final = 100
PROJECT_NAME_MAX: Final = 100
PROJECT_KEY_MAX: Final = 10
_PROJECT_KEY: Final = re.compile(r"[A-Z][A-Z0-9]*")
#: Versions and positions travel as int32: a larger value passes the protocol's ">= N" rule but
#: would make the converter fail with a bare ValueError, so it is rejected here with its field.
_INT32_MAX: Final = 2**31 - 1

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
        if value is None:
            return
        n = len(value)
        if n < low or n > high:
            rule = f"must be at most {high} characters" if low == 0 else f"must be {low}-{high} characters"
            self.add(field, f"{rule} (got {n})")

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


def _create_work_item(r: CreateWorkItemRequest, e: _Errors) -> None:
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)
    e.one_of("status", r.status, WORK_ITEM_STATUSES)
    e.one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
    if r.item_type is WorkItemType.EPIC and r.parent_id is not None:
        e.add("parent_id", "an epic has no parent")


def _update_work_item(r: UpdateWorkItemRequest, e: _Errors) -> None:
    e.within("expected_version", r.expected_version, 1, _INT32_MAX)
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)
    e.one_of("status", r.status, WORK_ITEM_STATUSES)
    e.one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
    e.within("story_points", r.story_points, 0, STORY_POINTS_MAX)
    e.within("position", r.position, 0, _INT32_MAX)
    if r.parent_id is not None and r.parent_id == r.work_item_id:
        e.add("parent_id", "an item cannot be its own parent")


def _create_sprint(r: CreateSprintRequest, e: _Errors) -> None:
    e.length("name", r.name, 1, SPRINT_NAME_MAX)
    e.length("goal", r.goal, 0, DESCRIPTION_MAX)
    if r.start_date >= r.end_date:
        e.add("end_date", "must be after start_date")


def _update_sprint(r: UpdateSprintRequest, e: _Errors) -> None:
    e.within("expected_version", r.expected_version, 1, _INT32_MAX)
    e.length("name", r.name, 1, SPRINT_NAME_MAX)
    e.length("goal", r.goal, 0, DESCRIPTION_MAX)
    if r.start_date is not None and r.end_date is not None and r.start_date >= r.end_date:
        e.add("end_date", "must be after start_date")


def _project_key(key: str, e: _Errors) -> None:
    e.length("key", key, 1, PROJECT_KEY_MAX)
    if key and not _PROJECT_KEY.fullmatch(key):
        e.add("key", "must start with A-Z and use only A-Z and 0-9")


def _create_project(r: CreateProjectRequest, e: _Errors) -> None:
    _project_key(r.key, e)
    e.length("title", r.title, 1, TITLE_MAX)
    e.length("description", r.description, 0, DESCRIPTION_MAX)


def _update_project(r: UpdateProjectRequest, e: _Errors) -> None:
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


def validate_request(request: Request) -> None:
    """Raise ``ValidationException`` listing every rule ``request`` breaks; return if it is valid."""
    rule = next((r for cls, r in _RULES.items() if isinstance(request, cls)), None)
    if rule is None:
        raise TypeError(f"validate_request does not know {type(request).__name__}")
    errors = _Errors()
    rule(request, errors)
    errors.raise_if_any()
