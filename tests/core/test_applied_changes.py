"""Does an update's answer hold what the update asked for, as pm-server stores values?"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from projectmanagement_core.applied_changes import require_applied, unapplied_fields
from projectmanagement_core.exceptions import UpdateNotAppliedException
from projectmanagement_core.models import (
    CLEAR,
    ProjectStatus,
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
)
from tests.core.test_models import A, B, T, project, sprint, work_item

C = UUID("33333333-3333-4333-8333-333333333333")


def update(**fields: object) -> UpdateWorkItemRequest:
    return UpdateWorkItemRequest(work_item_id=A, expected_version=1, **fields)  # type: ignore[arg-type]


def test_pm_servers_no_op_answer_to_a_priority_points_and_sprint_update_drops_all_three() -> None:
    # pm-server v0.1.4 answers such an update with the item unchanged (its change tracker ignores them).
    unchanged = work_item(priority="medium", story_points=None, sprint_id=None, version=1)
    request = update(priority="high", story_points=5, sprint_id=C)
    assert unapplied_fields(request, unchanged) == ("sprint_id", "priority", "story_points")
    with pytest.raises(UpdateNotAppliedException) as raised:
        require_applied("UpdateWorkItem", request, unchanged)
    assert raised.value.entity is unchanged
    assert raised.value.dropped_fields == ("sprint_id", "priority", "story_points")


def test_an_answer_holding_every_requested_field_passes() -> None:
    applied = work_item(title="New", status="done", priority="high", story_points=5, sprint_id=C, version=2)
    request = update(title="New", status="done", priority="high", story_points=5, sprint_id=C)
    assert unapplied_fields(request, applied) == ()
    require_applied("UpdateWorkItem", request, applied)  # no exception


def test_free_text_compares_as_pm_server_stores_it_trimmed() -> None:
    stored = work_item(title="Fix login", description="Steps", version=2)
    assert unapplied_fields(update(title="  Fix login \n", description=" Steps "), stored) == ()
    assert unapplied_fields(update(title="Fix logout"), stored) == ("title",)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("\x1c x \u3000", "\x1c x"),  # Rust's trim keeps U+001C, which Python's strip() removes
        ("\x1c x \u3000", "x"),  # a peer that strips as Python does
        ("\u00a0x\u2003", "x"),
    ],
)
def test_either_trim_counts_as_stored(sent: str, stored: str) -> None:
    assert unapplied_fields(update(title=sent), work_item(title=stored)) == ()


def test_a_title_missing_its_inner_text_is_dropped() -> None:
    assert unapplied_fields(update(title=" a b "), work_item(title="a")) == ("title",)


@pytest.mark.parametrize("stored", [None, ""])
def test_an_empty_description_is_the_same_as_none(stored: str | None) -> None:
    assert unapplied_fields(update(description=""), work_item(description=stored)) == ()
    assert unapplied_fields(update(description="  "), work_item(description=stored)) == ()


def test_cleared_ids_must_be_none_in_the_answer() -> None:
    request = update(assignee_id=CLEAR, sprint_id=CLEAR, parent_id=CLEAR)
    assert unapplied_fields(request, work_item(assignee_id=None, sprint_id=None, parent_id=None)) == ()
    still_set = work_item(assignee_id=B, sprint_id=C, parent_id=B)
    assert unapplied_fields(request, still_set) == ("assignee_id", "sprint_id", "parent_id")


def test_moving_to_the_top_level_with_update_parent_is_checked_too() -> None:
    request = update(update_parent=True)
    assert unapplied_fields(request, work_item(parent_id=B)) == ("parent_id",)
    assert unapplied_fields(request, work_item(parent_id=None)) == ()


def test_sprint_and_project_updates_are_checked_field_by_field() -> None:
    later = T + timedelta(days=7)
    sprint_request = UpdateSprintRequest(
        sprint_id=A, expected_version=1, name=" S2 ", end_date=later, status=SprintStatus.ACTIVE
    )
    assert (
        unapplied_fields(sprint_request, sprint(name="S2", end_date=later, status=SprintStatus.ACTIVE)) == ()
    )
    assert unapplied_fields(sprint_request, sprint(name="S2", end_date=later)) == ("status",)

    project_request = UpdateProjectRequest(project_id=A, expected_version=1, status=ProjectStatus.ARCHIVED)
    assert unapplied_fields(project_request, project(status=ProjectStatus.ACTIVE)) == ("status",)
    assert unapplied_fields(project_request, project(status=ProjectStatus.ARCHIVED)) == ()
