"""validate_request: every rule rejects its bad input, accepts its edge, and all errors come at once.

The limits are pm-server v0.1.4's (message_validator.rs, the handlers, validation_config.rs, the
database's CHECK constraints); tests/core/test_upstream_limits.py covers the rules only upstream has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import (
    STORED_WORK_ITEM_STATUSES,
    WORK_ITEM_PRIORITIES,
    WORK_ITEM_STATUSES,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    ProjectStatus,
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_core.validation import (
    DESCRIPTION_MAX,
    PROJECT_KEY_MAX,
    PROJECT_KEY_MIN,
    SPRINT_NAME_MAX,
    STORY_POINTS_MAX,
    TITLE_MAX,
    validate_request,
)
from tests.core.strategies import PROPERTY

ITEM = UUID("11111111-1111-4111-8111-111111111111")
PARENT = UUID("22222222-2222-4222-8222-222222222222")
PROJECT = UUID("33333333-3333-4333-8333-333333333333")
#: Sprint dates must lie within a year ago .. five years ahead of now (pm-server's rule), so relative.
START = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=7)
INT32_MAX = 2**31 - 1

#: One code point, four UTF-8 bytes, two UTF-16 units.
EMOJI = "\U0001f600"
#: "e" + COMBINING ACUTE ACCENT: one visible character, two code points.
E_ACUTE = "e\u0301"
#: Thumbs up + skin tone modifier: one visible character, two astral code points (8 UTF-8 bytes).
THUMBS_UP = "\U0001f44d\U0001f3fd"


def _errors(request: Any) -> list[str]:
    """The field names ``validate_request`` reports, [] when the request is valid."""
    try:
        validate_request(request)
    except ValidationException as exc:
        error = exc
    else:
        return []
    assert str(error).startswith("invalid request: ")
    return error.fields


def create_item(**changes: Any) -> CreateWorkItemRequest:
    fields: dict[str, Any] = {"project_id": PROJECT, "item_type": WorkItemType.STORY, "title": "Title"}
    return CreateWorkItemRequest(**(fields | changes))


def update_item(**changes: Any) -> UpdateWorkItemRequest:
    return UpdateWorkItemRequest(**({"work_item_id": ITEM, "expected_version": 1} | changes))


def create_sprint(**changes: Any) -> CreateSprintRequest:
    fields: dict[str, Any] = {
        "project_id": PROJECT,
        "name": "Sprint 1",
        "start_date": START,
        "end_date": START + timedelta(days=14),
    }
    return CreateSprintRequest(**(fields | changes))


def update_sprint(**changes: Any) -> UpdateSprintRequest:
    return UpdateSprintRequest(**({"sprint_id": ITEM, "expected_version": 1} | changes))


def create_project(**changes: Any) -> CreateProjectRequest:
    return CreateProjectRequest(**({"key": "PM", "title": "Project"} | changes))


def update_project(**changes: Any) -> UpdateProjectRequest:
    return UpdateProjectRequest(**({"project_id": PROJECT, "expected_version": 1} | changes))


def test_limits_are_those_of_pm_server() -> None:
    assert (TITLE_MAX, DESCRIPTION_MAX, SPRINT_NAME_MAX, STORY_POINTS_MAX) == (200, 10_000, 100, 100)
    assert (PROJECT_KEY_MIN, PROJECT_KEY_MAX) == (2, 20)


# ------------------------------------------------------------------ titles: code points


@pytest.mark.parametrize(
    "build",
    [create_item, update_item, create_project, update_project],
    ids=["create_item", "update_item", "create_project", "update_project"],
)
@pytest.mark.parametrize(
    ("title", "ok"),
    [
        ("x" * 200, True),
        ("x" * 201, False),
        ("x", True),
        ("", False),
        (EMOJI * 200, True),  # 800 UTF-8 bytes, 400 UTF-16 units: still 200 code points
        (EMOJI * 201, False),
        (E_ACUTE * 100, True),  # 100 visible characters, 200 code points
        (E_ACUTE * 100 + "e", False),  # 201 code points, though only 101 "characters" are seen
        (THUMBS_UP * 100, True),
        (THUMBS_UP * 100 + EMOJI, False),
    ],
    ids=lambda v: f"len{len(v)}" if isinstance(v, str) else str(v),
)
def test_title_is_1_to_200_code_points(build: Any, title: str, ok: bool) -> None:
    assert _errors(build(title=title)) == ([] if ok else ["title"])


def test_title_length_counts_code_points_not_utf16_units_or_bytes() -> None:
    title = EMOJI * 200
    assert len(title.encode("utf-16-le")) // 2 == 400
    assert len(title.encode("utf-8")) == 800
    assert _errors(create_item(title=title)) == []


# ------------------------------------------------------------------ descriptions, goals, names


@pytest.mark.parametrize(
    "build",
    [create_item, update_item, create_project, update_project],
    ids=["create_item", "update_item", "create_project", "update_project"],
)
@pytest.mark.parametrize(
    ("description", "ok"),
    [
        ("", True),
        ("d" * 10_000, True),
        ("d" * 10_001, False),
        (EMOJI * 10_000, True),
        (EMOJI * 10_001, False),
    ],
    ids=["empty", "10000", "10001", "emoji10000", "emoji10001"],
)
def test_description_is_at_most_10000_code_points(build: Any, description: str, ok: bool) -> None:
    assert _errors(build(description=description)) == ([] if ok else ["description"])


@pytest.mark.parametrize("build", [create_sprint, update_sprint], ids=["create", "update"])
@pytest.mark.parametrize("goal", ["", "g" * 10_000, "g" * 10_001], ids=["empty", "10000", "10001"])
def test_sprint_goal_has_no_length_limit_as_on_pm_server(build: Any, goal: str) -> None:
    assert _errors(build(goal=goal)) == []


@pytest.mark.parametrize("build", [create_sprint, update_sprint], ids=["create", "update"])
@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("n", True),
        ("n" * 100, True),
        ("n" * 101, False),
        ("", False),
        (EMOJI * 100, True),
        (EMOJI * 101, False),
    ],
    ids=["1", "100", "101", "empty", "emoji100", "emoji101"],
)
def test_sprint_name_is_1_to_100_code_points(build: Any, name: str, ok: bool) -> None:
    assert _errors(build(name=name)) == ([] if ok else ["name"])


# ------------------------------------------------------------------ sprint dates


@pytest.mark.parametrize(
    ("end", "ok"),
    [
        (START + timedelta(seconds=1), True),
        (START + timedelta(days=14), True),
        (START, False),
        (START - timedelta(seconds=1), False),
        (START - timedelta(days=3), False),
    ],
    ids=["1s-after", "14d-after", "equal", "1s-before", "3d-before"],
)
def test_sprint_start_must_precede_end_on_create(end: datetime, ok: bool) -> None:
    assert _errors(create_sprint(end_date=end)) == ([] if ok else ["end_date"])


def test_update_sprint_checks_no_dates_as_pm_server_checks_none() -> None:
    assert _errors(update_sprint(start_date=START)) == []
    assert _errors(update_sprint(start_date=START, end_date=START)) == []
    assert _errors(update_sprint(end_date=START - timedelta(days=400))) == []


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("points", "ok"),
    [(0, True), (1, True), (100, True), (-1, False), (101, False), (None, True)],
)
def test_story_points_are_0_to_100(points: int | None, ok: bool) -> None:
    assert _errors(update_item(story_points=points)) == ([] if ok else ["story_points"])


@pytest.mark.parametrize(
    ("position", "ok"),
    [
        (0, True),
        (5, True),
        (INT32_MAX - 1, True),
        (INT32_MAX, False),
        (-1, False),
        (INT32_MAX + 1, False),
        (None, True),
    ],
)
def test_position_is_non_negative_and_leaves_room_for_the_next_sibling(
    position: int | None, ok: bool
) -> None:
    assert _errors(update_item(position=position)) == ([] if ok else ["position"])


@pytest.mark.parametrize(
    "build", [update_item, update_sprint, update_project], ids=["work_item", "sprint", "project"]
)
@pytest.mark.parametrize(
    ("version", "ok"),
    [(1, True), (INT32_MAX, True), (None, True), (0, False), (-1, False), (INT32_MAX + 1, False)],
)
def test_expected_version_is_positive_and_fits_the_wire(build: Any, version: int | None, ok: bool) -> None:
    assert _errors(build(expected_version=version)) == ([] if ok else ["expected_version"])


# ------------------------------------------------------------------ statuses, priorities, hierarchy


@pytest.mark.parametrize("build", [create_item, update_item], ids=["create", "update"])
@pytest.mark.parametrize("status", STORED_WORK_ITEM_STATUSES)
def test_every_status_pm_server_can_store_is_accepted(build: Any, status: str) -> None:
    assert _errors(build(status=status)) == []


@pytest.mark.parametrize("build", [create_item, update_item], ids=["create", "update"])
def test_blocked_is_refused_naming_pm_servers_quirk(build: Any) -> None:
    with pytest.raises(ValidationException) as raised:
        validate_request(build(status="blocked"))
    assert raised.value.fields == ["status"]
    assert "DATABASE_ERROR" in str(raised.value)
    assert "database refuses" in str(raised.value)


@pytest.mark.parametrize("build", [create_item, update_item], ids=["create", "update"])
@pytest.mark.parametrize("status", ["", "Backlog", "DONE", "in progress", "archived", " todo"])
def test_unknown_status_is_rejected(build: Any, status: str) -> None:
    assert _errors(build(status=status)) == ["status"]


@pytest.mark.parametrize("build", [create_item, update_item], ids=["create", "update"])
@pytest.mark.parametrize("priority", WORK_ITEM_PRIORITIES)
def test_every_protocol_priority_is_accepted(build: Any, priority: str) -> None:
    assert _errors(build(priority=priority)) == []


@pytest.mark.parametrize("build", [create_item, update_item], ids=["create", "update"])
@pytest.mark.parametrize("priority", ["", "High", "urgent", "none"])
def test_unknown_priority_is_rejected(build: Any, priority: str) -> None:
    assert _errors(build(priority=priority)) == ["priority"]


def test_statuses_and_priorities_of_pm_servers_handler_and_database() -> None:
    assert set(WORK_ITEM_STATUSES) == {"backlog", "todo", "in_progress", "review", "done", "blocked"}
    assert set(STORED_WORK_ITEM_STATUSES) == set(WORK_ITEM_STATUSES) - {"blocked"}
    assert set(WORK_ITEM_PRIORITIES) == {"low", "medium", "high", "critical"}


def test_epic_with_a_parent_is_rejected() -> None:
    assert _errors(create_item(item_type=WorkItemType.EPIC, parent_id=PARENT)) == ["parent_id"]


@pytest.mark.parametrize(
    ("item_type", "parent"),
    [
        (WorkItemType.EPIC, None),
        (WorkItemType.STORY, PARENT),
        (WorkItemType.TASK, PARENT),
        (WorkItemType.STORY, None),
    ],
)
def test_other_hierarchies_are_accepted(item_type: WorkItemType, parent: UUID | None) -> None:
    assert _errors(create_item(item_type=item_type, parent_id=parent)) == []


def test_an_item_cannot_be_its_own_parent() -> None:
    assert _errors(update_item(parent_id=ITEM, update_parent=True)) == ["parent_id"]
    assert _errors(update_item(parent_id=PARENT, update_parent=True)) == []
    assert _errors(update_item(parent_id=None, update_parent=True)) == []


# ------------------------------------------------------------------ project keys


@pytest.mark.parametrize(
    "key",
    ["PM", "pm", "Pm", "AB", "A" * 20, "A1", "1PM", "P_M", "__", "Q2024", "abc_DEF_123"],
)
def test_valid_project_keys(key: str) -> None:
    assert _errors(create_project(key=key)) == []


@pytest.mark.parametrize(
    ("key", "count"),
    [
        ("", 1),  # empty: one error (length), not a second one for the pattern
        ("A", 1),  # 1 character: below pm-server's 2
        ("A" * 21, 1),  # 21 characters
        ("P-M", 1),
        ("P M", 1),
        ("PÉ", 1),  # not ASCII
        ("P\u0661", 1),  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to pm-server
        ("-" * 21, 2),  # too long and wrong characters
    ],
)
def test_invalid_project_keys(key: str, count: int) -> None:
    assert _errors(create_project(key=key)) == ["key"] * count


def test_update_project_accepts_every_status() -> None:
    for status in ProjectStatus:
        assert _errors(update_project(status=status)) == []


def test_update_sprint_accepts_every_status() -> None:
    for status in SprintStatus:
        assert _errors(update_sprint(status=status)) == []


# ------------------------------------------------------------------ all at once


def test_create_work_item_reports_three_violations_at_once() -> None:
    request = create_item(title="", description="d" * 10_001, status="nope")
    assert sorted(_errors(request)) == ["description", "status", "title"]


def test_update_work_item_reports_every_violation_at_once() -> None:
    request = update_item(
        expected_version=0,
        title="t" * 201,
        description="d" * 10_001,
        status="nope",
        priority="nope",
        story_points=101,
        position=-1,
        parent_id=ITEM,
    )
    assert sorted(_errors(request)) == sorted(
        [
            "expected_version",
            "title",
            "description",
            "status",
            "priority",
            "story_points",
            "position",
            "parent_id",
        ]
    )


def test_sprint_and_project_report_every_violation_at_once() -> None:
    assert sorted(_errors(create_sprint(name="", goal="g" * 10_001, end_date=START))) == [
        "end_date",
        "name",
    ]
    assert sorted(_errors(create_project(key="p", title="", description="d" * 10_001))) == [
        "description",
        "key",
        "title",
    ]


def test_each_error_says_which_rule_was_broken() -> None:
    with pytest.raises(ValidationException) as info:
        validate_request(update_item(story_points=101, title=""))
    messages = {e.field: e.message for e in info.value.errors}
    assert "0 and 100" in messages["story_points"]
    assert "got 101" in messages["story_points"]
    assert "1-200" in messages["title"]


def test_an_update_that_sets_nothing_is_valid() -> None:
    assert _errors(update_item()) == []
    assert _errors(update_sprint()) == []
    assert _errors(update_project()) == []


# ------------------------------------------------------------------ valid input passes

_titles = st.text(min_size=1, max_size=TITLE_MAX)


@PROPERTY
@given(
    title=_titles,
    description=st.none() | st.text(max_size=50),
    status=st.none() | st.sampled_from(STORED_WORK_ITEM_STATUSES),
    priority=st.none() | st.sampled_from(WORK_ITEM_PRIORITIES),
    item_type=st.sampled_from(WorkItemType),
)
def test_any_create_within_the_limits_is_valid(
    title: str, description: str | None, status: str | None, priority: str | None, item_type: WorkItemType
) -> None:
    request = create_item(
        title=title, description=description, status=status, priority=priority, item_type=item_type
    )
    assert _errors(request) == []


@PROPERTY
@given(title=st.text(min_size=TITLE_MAX + 1, max_size=TITLE_MAX + 20))
def test_any_title_over_200_code_points_is_rejected(title: str) -> None:
    assert _errors(create_item(title=title)) == ["title"]


@PROPERTY
@given(
    points=st.integers(0, STORY_POINTS_MAX),
    position=st.integers(0, INT32_MAX - 1),
    version=st.integers(1, INT32_MAX),
)
def test_any_update_within_the_limits_is_valid(points: int, position: int, version: int) -> None:
    assert _errors(update_item(story_points=points, position=position, expected_version=version)) == []


def test_unknown_request_type_is_a_clear_type_error() -> None:
    from projectmanagement_core.validation import validate_request

    with pytest.raises(TypeError, match="does not know str"):
        validate_request("not a request")  # type: ignore[arg-type]
