"""Models are frozen value objects with UTC whole-second times; ConnectionQuality's thresholds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from projectmanagement_core.models import (
    CLEAR,
    ActivityLogEntry,
    ChangeKind,
    ConnectionQuality,
    ConnectionState,
    ConnectionStateChange,
    CreateWorkItemRequest,
    EntityChange,
    FieldChange,
    Project,
    ProjectStatus,
    Sprint,
    SprintStatus,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)
from tests.core.strategies import PROPERTY

A = UUID("11111111-1111-4111-8111-111111111111")
B = UUID("22222222-2222-4222-8222-222222222222")
T = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def work_item(**changes: Any) -> WorkItem:
    fields: dict[str, Any] = {
        "id": A,
        "item_type": WorkItemType.TASK,
        "project_id": B,
        "title": "Title",
        "status": "todo",
        "priority": "medium",
        "version": 1,
        "created_at": T,
        "updated_at": T,
        "created_by": A,
        "updated_by": A,
    }
    return WorkItem(**(fields | changes))


def sprint(**changes: Any) -> Sprint:
    fields: dict[str, Any] = {
        "id": A,
        "project_id": B,
        "name": "S",
        "start_date": T,
        "end_date": T + timedelta(days=7),
        "status": SprintStatus.PLANNED,
        "version": 1,
        "created_at": T,
        "updated_at": T,
        "created_by": A,
        "updated_by": A,
    }
    return Sprint(**(fields | changes))


def project(**changes: Any) -> Project:
    fields: dict[str, Any] = {
        "id": B,
        "key": "PM",
        "title": "P",
        "status": ProjectStatus.ACTIVE,
        "version": 1,
        "created_at": T,
        "updated_at": T,
        "created_by": A,
        "updated_by": A,
    }
    return Project(**(fields | changes))


def activity(**changes: Any) -> ActivityLogEntry:
    fields: dict[str, Any] = {
        "id": A,
        "entity_type": "work_item",
        "entity_id": B,
        "action": "created",
        "user_id": A,
        "timestamp": T,
    }
    return ActivityLogEntry(**(fields | changes))


_BUILDERS = {"work_item": work_item, "sprint": sprint, "project": project, "activity": activity}
_TIME_FIELDS = [
    ("work_item", "created_at"),
    ("work_item", "deleted_at"),
    ("sprint", "start_date"),
    ("sprint", "deleted_at"),
    ("project", "updated_at"),
    ("activity", "timestamp"),
]


# ------------------------------------------------------------------ frozen


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        (work_item(), "title", "Changed"),
        (work_item(), "version", 2),
        (sprint(), "status", SprintStatus.ACTIVE),
        (project(), "title", "Other"),
        (activity(), "action", "deleted"),
        (FieldChange(field_name="title"), "new_value", "x"),
        (CreateWorkItemRequest(project_id=B, item_type=WorkItemType.EPIC, title="E"), "title", "F"),
        (UpdateWorkItemRequest(work_item_id=A), "title", "x"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str | int) else str(v),
)
def test_models_are_frozen(model: Any, field: str, value: object) -> None:
    before = getattr(model, field)
    with pytest.raises(ValidationError):
        setattr(model, field, value)
    assert getattr(model, field) == before


@pytest.mark.parametrize(
    "value",
    [
        EntityChange(ChangeKind.ADDED, None, 1),
        ConnectionStateChange(ConnectionState.CONNECTING, ConnectionState.CONNECTED),
    ],
    ids=["EntityChange", "ConnectionStateChange"],
)
def test_dataclass_values_are_frozen(value: Any) -> None:
    name = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, name, None)


def test_frozen_models_are_hashable_values() -> None:
    assert work_item() == work_item()
    assert hash(work_item()) == hash(work_item())
    assert work_item() != work_item(version=2)


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError):
        work_item(colour="red")


def test_ids_must_be_uuids() -> None:
    with pytest.raises(ValidationError):
        work_item(id="not-a-uuid")


# ------------------------------------------------------------------ times


@pytest.mark.parametrize(("builder", "field"), _TIME_FIELDS, ids=[f"{b}.{f}" for b, f in _TIME_FIELDS])
def test_naive_datetime_is_rejected(builder: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        _BUILDERS[builder](**{field: datetime(2025, 3, 1, 12, 0, 0)})
    assert info.value.errors()[0]["loc"] == (field,)
    assert "timezone-aware" in str(info.value)


@pytest.mark.parametrize(("builder", "field"), _TIME_FIELDS, ids=[f"{b}.{f}" for b, f in _TIME_FIELDS])
def test_aware_datetime_is_normalised_to_utc_whole_seconds(builder: str, field: str) -> None:
    local = datetime(2025, 3, 1, 14, 30, 15, 999_999, tzinfo=timezone(timedelta(hours=2, minutes=30)))
    value = getattr(_BUILDERS[builder](**{field: local}), field)
    assert value == datetime(2025, 3, 1, 12, 0, 15, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert value.microsecond == 0


def test_request_times_are_normalised_too() -> None:
    request = UpdateSprintRequest(
        sprint_id=A, start_date=datetime(2025, 1, 1, 0, 0, 0, 500_000, tzinfo=timezone(timedelta(hours=-5)))
    )
    assert request.start_date == datetime(2025, 1, 1, 5, 0, 0, tzinfo=UTC)
    with pytest.raises(ValidationError):
        UpdateSprintRequest(sprint_id=A, end_date=datetime(2025, 1, 1))


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
    ids=["before-min", "after-max"],
)
def test_aware_datetime_out_of_range_in_utc_is_a_validation_error(value: datetime) -> None:
    """Not a bare OverflowError escaping from astimezone()."""
    with pytest.raises(ValidationError) as info:
        work_item(created_at=value)
    assert info.value.errors()[0]["loc"] == ("created_at",)


@PROPERTY
@given(
    value=st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2999, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
        ),
    )
)
def test_any_aware_time_becomes_the_same_instant_in_whole_utc_seconds(value: datetime) -> None:
    stored = work_item(updated_at=value).updated_at
    assert stored.tzinfo is UTC
    assert stored.microsecond == 0
    assert timedelta(0) <= value - stored < timedelta(seconds=1)


def test_is_deleted_follows_deleted_at() -> None:
    assert not work_item().is_deleted
    assert work_item(deleted_at=T).is_deleted
    assert sprint(deleted_at=T).is_deleted
    assert not project().is_deleted


# ------------------------------------------------------------------ ConnectionQuality


@pytest.mark.parametrize(
    ("ms", "quality"),
    [
        (0, ConnectionQuality.EXCELLENT),
        (99.9, ConnectionQuality.EXCELLENT),
        (99.999, ConnectionQuality.EXCELLENT),
        (100, ConnectionQuality.GOOD),
        (299, ConnectionQuality.GOOD),
        (299.999, ConnectionQuality.GOOD),
        (300, ConnectionQuality.FAIR),
        (999, ConnectionQuality.FAIR),
        (999.999, ConnectionQuality.FAIR),
        (1000, ConnectionQuality.POOR),
        (60_000, ConnectionQuality.POOR),
    ],
)
def test_quality_thresholds(ms: float, quality: ConnectionQuality) -> None:
    assert ConnectionQuality.from_latency(timedelta(milliseconds=ms)) is quality


def test_quality_without_a_sample_is_unknown() -> None:
    assert ConnectionQuality.from_latency(None) is ConnectionQuality.UNKNOWN


@pytest.mark.parametrize("latency", [None, timedelta(milliseconds=5), timedelta(seconds=5)])
def test_quality_when_disconnected_is_disconnected(latency: timedelta | None) -> None:
    assert ConnectionQuality.from_latency(latency, connected=False) is ConnectionQuality.DISCONNECTED


@PROPERTY
@given(micros=st.integers(0, 2_000_000))
def test_quality_matches_integer_thresholds_exactly(micros: int) -> None:
    """No float rounding at a boundary: compare against exact microsecond arithmetic."""
    expected = (
        ConnectionQuality.EXCELLENT
        if micros < 100_000
        else ConnectionQuality.GOOD
        if micros < 300_000
        else ConnectionQuality.FAIR
        if micros < 1_000_000
        else ConnectionQuality.POOR
    )
    assert ConnectionQuality.from_latency(timedelta(microseconds=micros)) is expected


def test_enum_values_read_like_dotnet() -> None:
    assert [s.value for s in ConnectionState] == [
        "Disconnected",
        "Connecting",
        "Connected",
        "Reconnecting",
        "Closed",
    ]
    assert [q.value for q in ConnectionQuality] == [
        "Unknown",
        "Excellent",
        "Good",
        "Fair",
        "Poor",
        "Disconnected",
    ]
    assert [t.value for t in WorkItemType] == ["Epic", "Story", "Task"]
    assert [s.value for s in SprintStatus] == ["Planned", "Active", "Completed", "Cancelled"]


# ------------------------------------------------------------------ changed_fields


def test_changed_fields_of_an_empty_update_is_empty() -> None:
    assert UpdateWorkItemRequest(work_item_id=A, expected_version=3).changed_fields() == {}


def test_changed_fields_lists_only_what_is_set() -> None:
    request = UpdateWorkItemRequest(
        work_item_id=A, expected_version=3, title="New", story_points=0, description=""
    )
    assert request.changed_fields() == {"title": "New", "story_points": 0, "description": ""}


def test_changed_fields_never_includes_identity_or_version() -> None:
    request = UpdateWorkItemRequest(work_item_id=A, expected_version=3, status="done", position=0)
    assert set(request.changed_fields()) == {"status", "position"}


def test_changed_fields_includes_a_set_parent() -> None:
    request = UpdateWorkItemRequest(work_item_id=A, parent_id=B, update_parent=True)
    assert request.changed_fields() == {"parent_id": B}


def test_changed_fields_includes_moving_to_top_level() -> None:
    request = UpdateWorkItemRequest(work_item_id=A, parent_id=None, update_parent=True)
    assert request.changed_fields() == {"parent_id": None}


def test_changed_fields_all_at_once() -> None:
    request = UpdateWorkItemRequest(
        work_item_id=A,
        expected_version=1,
        title="t",
        description="d",
        status="todo",
        assignee_id=B,
        sprint_id=B,
        position=4,
        priority="high",
        story_points=3,
        parent_id=B,
        update_parent=True,
    )
    assert request.changed_fields() == {
        "title": "t",
        "description": "d",
        "status": "todo",
        "assignee_id": B,
        "sprint_id": B,
        "position": 4,
        "priority": "high",
        "story_points": 3,
        "parent_id": B,
    }


def test_sprint_changed_fields() -> None:
    request = UpdateSprintRequest(sprint_id=A, expected_version=2, name="N", status=SprintStatus.ACTIVE)
    assert request.changed_fields() == {"name": "N", "status": SprintStatus.ACTIVE}
    assert UpdateSprintRequest(sprint_id=A).changed_fields() == {}


def test_a_parent_always_travels_with_update_parent() -> None:
    assert UpdateWorkItemRequest(work_item_id=A, parent_id=B).update_parent is True
    assert UpdateWorkItemRequest(work_item_id=A, parent_id=CLEAR).update_parent is True
    assert UpdateWorkItemRequest(work_item_id=A).update_parent is False


def test_clear_is_the_empty_id_and_reads_as_none_in_the_changed_fields() -> None:
    assert CLEAR == ""
    request = UpdateWorkItemRequest(work_item_id=A, assignee_id=CLEAR, sprint_id=CLEAR, parent_id=CLEAR)
    assert (request.assignee_id, request.sprint_id, request.parent_id) == ("", "", "")
    assert request.changed_fields() == {"assignee_id": None, "sprint_id": None, "parent_id": None}


@pytest.mark.parametrize("field", ["assignee_id", "sprint_id", "parent_id"])
def test_a_clearable_id_is_still_a_uuid_or_clear(field: str) -> None:
    with pytest.raises(ValidationError):
        UpdateWorkItemRequest(work_item_id=A, **{field: "none"})
