"""Issue 14: text that cannot be encoded and impossible values in answers fail by field, not deep inside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from projectmanagement_core import converters
from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import (
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_core.validation import POSITION_MAX, validate_request

ID = UUID("11111111-1111-4111-8111-111111111111")
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
LONE = "ok\udc80ok"  # a lone surrogate: cannot be UTF-8 encoded


def _fields(request: Any) -> list[str]:
    with pytest.raises(ValidationException) as caught:
        validate_request(request)
    return [e.field for e in caught.value.errors]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (CreateWorkItemRequest(project_id=ID, item_type=WorkItemType.TASK, title=LONE), "title"),
        (
            CreateWorkItemRequest(project_id=ID, item_type=WorkItemType.TASK, title="t", description=LONE),
            "description",
        ),
        (UpdateWorkItemRequest(work_item_id=ID, expected_version=1, title=LONE), "title"),
        (UpdateWorkItemRequest(work_item_id=ID, expected_version=1, description=LONE), "description"),
        (
            CreateSprintRequest(
                project_id=ID, name=LONE, start_date=START, end_date=START + timedelta(days=7)
            ),
            "name",
        ),
        (
            CreateSprintRequest(
                project_id=ID, name="s", goal=LONE, start_date=START, end_date=START + timedelta(days=7)
            ),
            "goal",
        ),
        (UpdateSprintRequest(sprint_id=ID, expected_version=1, name=LONE), "name"),
        (UpdateSprintRequest(sprint_id=ID, expected_version=1, goal=LONE), "goal"),
        (CreateProjectRequest(key="K\udc80", title="t"), "key"),
        (CreateProjectRequest(key="KEY", title=LONE), "title"),
        (CreateProjectRequest(key="KEY", title="t", description=LONE), "description"),
        (UpdateProjectRequest(project_id=ID, expected_version=1, title=LONE), "title"),
    ],
)
def test_a_lone_surrogate_is_a_validation_error_naming_the_field(request_: Any, field: str) -> None:
    assert field in _fields(request_)


def test_the_surrogate_error_says_why() -> None:
    with pytest.raises(ValidationException, match="lone surrogate"):
        validate_request(CreateWorkItemRequest(project_id=ID, item_type=WorkItemType.TASK, title=LONE))


def test_a_position_whose_next_sibling_would_overflow_int32_is_refused() -> None:
    assert _fields(UpdateWorkItemRequest(work_item_id=ID, expected_version=1, position=2**31 - 1)) == [
        "position"
    ]
    validate_request(UpdateWorkItemRequest(work_item_id=ID, expected_version=1, position=POSITION_MAX))
    assert POSITION_MAX + 1 <= 2**31 - 1  # the server's "max + 1" still fits int32


def _work_item(**overrides: Any) -> pb.WorkItem:
    message = pb.WorkItem(
        id=str(ID),
        item_type=pb.TASK,
        project_id=str(ID),
        title="t",
        status="backlog",
        priority="medium",
        version=1,
        position=0,
        item_number=1,
        created_at=1_700_000_000,
        updated_at=1_700_000_000,
        created_by=str(ID),
        updated_by=str(ID),
    )
    for name, value in overrides.items():
        setattr(message, name, value)
    return message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"version": -5}, "work_item.version"),
        ({"item_number": -3}, "work_item.item_number"),
        ({"story_points": 101}, "work_item.story_points"),
        ({"story_points": -1}, "work_item.story_points"),
        ({"updated_at": 2**63 - 1}, "work_item.updated_at"),
    ],
)
def test_an_impossible_work_item_value_names_its_field(overrides: dict[str, int], field: str) -> None:
    with pytest.raises(ValidationException) as caught:
        converters.work_item_from_proto(_work_item(**overrides))
    assert [e.field for e in caught.value.errors] == [field]


def test_impossible_sprint_and_project_versions_name_their_field() -> None:
    sprint = pb.Sprint(
        id=str(ID), project_id=str(ID), name="s", start_date=1, end_date=2, status=pb.PLANNED, version=-5,
        created_at=1, updated_at=1, created_by=str(ID), updated_by=str(ID),
    )  # fmt: skip
    with pytest.raises(ValidationException, match=r"sprint\.version"):
        converters.sprint_from_proto(sprint)
    sprint.version, sprint.end_date = 1, 2**63 - 1
    with pytest.raises(ValidationException, match=r"sprint\.end_date"):
        converters.sprint_from_proto(sprint)
    project = pb.Project(
        id=str(ID), key="KEY", title="t", status=pb.PROJECT_STATUS_ACTIVE, version=-1, created_at=1,
        updated_at=1, created_by=str(ID), updated_by=str(ID),
    )  # fmt: skip
    with pytest.raises(ValidationException, match=r"project\.version"):
        converters.project_from_proto(project)


def test_a_sane_work_item_still_converts() -> None:
    assert converters.work_item_from_proto(_work_item(story_points=100)).story_points == 100


def test_a_negative_position_is_accepted_because_pm_server_can_send_one() -> None:
    """pm-server's create computes ``(max + 1) as i32``: after a stored 2**31 - 1 it wraps."""
    assert converters.work_item_from_proto(_work_item(position=-(2**31))).position == -(2**31)
