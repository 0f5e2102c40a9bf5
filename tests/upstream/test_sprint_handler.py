"""Ports of pm-server's ``backend/crates/pm-ws/tests/sprint_handler_tests.rs``.

Upstream inserts a project and makes the test user its ``editor`` straight in the database; here the
project is created over the wire by another user and the test user is added as editor with
:meth:`PmTestServer.add_member` (the protocol has no membership messages). Dates are relative to
now, as upstream's (pm-server refuses sprint dates more than a year back or five years ahead).
"""

from __future__ import annotations

import time

from projectmanagement_core.proto import messages_pb2 as pb
from tests.services.testing.conftest import RawClient, assert_error, make

DAY = 86_400


def _now() -> int:
    return int(time.time())


async def _create_sprint(client: RawClient, project: pb.Project, message_id: str = "msg-create") -> str:
    request = make(
        "create_sprint_request",
        message_id,
        project_id=project.id,
        name="Sprint 1",
        start_date=_now(),
        end_date=_now() + 14 * DAY,
    )
    answer, _ = await client.request(request)
    assert answer.WhichOneof("payload") == "sprint_created", answer
    return answer.sprint_created.sprint.id


async def test_given_valid_request_when_create_sprint_then_succeeds(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_valid_request_when_create_sprint_then_succeeds``."""
    start = _now() + DAY
    request = make(
        "create_sprint_request",
        "msg-001",
        project_id=project.id,
        name="Sprint 1",
        goal="Complete MVP",
        start_date=start,
        end_date=start + 14 * DAY,
    )
    answer, _ = await editor.request(request)
    assert answer.message_id == "msg-001"
    assert answer.WhichOneof("payload") == "sprint_created", answer
    sprint = answer.sprint_created.sprint
    assert (sprint.name, sprint.goal, sprint.status, sprint.version) == (
        "Sprint 1",
        "Complete MVP",
        pb.PLANNED,
        1,
    )


async def test_given_invalid_dates_when_create_sprint_then_validation_error(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_invalid_dates_when_create_sprint_then_validation_error``."""
    request = make(
        "create_sprint_request",
        "msg-002",
        project_id=project.id,
        name="Sprint 1",
        start_date=_now() + 14 * DAY,
        end_date=_now() + DAY,
    )
    answer, _ = await editor.request(request)
    error = assert_error(answer, "INVALID_MESSAGE")
    assert "start_date" in error.message


async def test_given_empty_name_when_create_sprint_then_validation_error(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_empty_name_when_create_sprint_then_validation_error``."""
    request = make(
        "create_sprint_request",
        "msg-003",
        project_id=project.id,
        name="",
        start_date=_now(),
        end_date=_now() + 14 * DAY,
    )
    answer, _ = await editor.request(request)
    assert_error(answer, "INVALID_MESSAGE")


async def test_given_correct_version_when_update_sprint_then_succeeds(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_correct_version_when_update_sprint_then_succeeds``."""
    sprint_id = await _create_sprint(editor, project)
    request = make(
        "update_sprint_request",
        "msg-update",
        sprint_id=sprint_id,
        expected_version=1,
        name="Sprint 1 Updated",
    )
    answer, _ = await editor.request(request)
    assert answer.WhichOneof("payload") == "sprint_updated", answer
    assert (answer.sprint_updated.sprint.name, answer.sprint_updated.sprint.version) == (
        "Sprint 1 Updated",
        2,
    )


async def test_given_wrong_version_when_update_sprint_then_conflict_error(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_wrong_version_when_update_sprint_then_conflict_error``."""
    sprint_id = await _create_sprint(editor, project)
    request = make(
        "update_sprint_request",
        "msg-update",
        sprint_id=sprint_id,
        expected_version=99,
        name="Sprint 1 Updated",
    )
    answer, _ = await editor.request(request)
    error = assert_error(answer, "CONFLICT")
    assert error.message == "Conflict: resource was modified (current version: 1)"


async def test_given_planned_sprint_when_start_then_becomes_active(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_planned_sprint_when_start_then_becomes_active``."""
    sprint_id = await _create_sprint(editor, project)
    request = make(
        "update_sprint_request", "msg-start", sprint_id=sprint_id, expected_version=1, status=pb.ACTIVE
    )
    answer, _ = await editor.request(request)
    assert answer.WhichOneof("payload") == "sprint_updated", answer
    assert answer.sprint_updated.sprint.status == pb.ACTIVE


async def test_given_planned_sprint_when_complete_then_invalid_transition(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_planned_sprint_when_complete_then_invalid_transition``."""
    sprint_id = await _create_sprint(editor, project)
    request = make(
        "update_sprint_request", "msg-complete", sprint_id=sprint_id, expected_version=1, status=pb.COMPLETED
    )
    answer, _ = await editor.request(request)
    error = assert_error(answer, "VALIDATION_ERROR", "status")
    assert "Invalid status transition" in error.message
    assert error.message == "Validation failed: Invalid status transition: planned -> completed"


async def test_given_project_with_sprints_when_get_sprints_then_returns_all(
    editor: RawClient, project: pb.Project
) -> None:
    """Port of ``given_project_with_sprints_when_get_sprints_then_returns_all``."""
    for i in (1, 2):
        request = make(
            "create_sprint_request",
            f"msg-create-{i}",
            project_id=project.id,
            name=f"Sprint {i}",
            start_date=_now() + i * 14 * DAY,
            end_date=_now() + (i + 1) * 14 * DAY,
        )
        await editor.request(request)
    answer, _ = await editor.request(make("get_sprints_request", "msg-get", project_id=project.id))
    assert answer.WhichOneof("payload") == "sprints_list", answer
    assert [s.name for s in answer.sprints_list.sprints] == ["Sprint 2", "Sprint 1"]  # newest start first
