"""Sprint and project requests: each row of protocol.md's table and their rules."""

from __future__ import annotations

from typing import Any

import pytest

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import SPRINT_START, Connect, RawClient, assert_error, make, new_id

START = SPRINT_START
END = START + 14 * 86_400


async def test_create_sprint_answers_sprint_created_planned_version_1(
    alice: RawClient, project: pb.Project
) -> None:
    request = make(
        "create_sprint_request", project_id=project.id, name="S1", goal="ship", start_date=START, end_date=END
    )
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    sprint = answer.sprint_created.sprint
    assert (sprint.name, sprint.goal, sprint.status, sprint.version) == ("S1", "ship", pb.PLANNED, 1)
    assert (sprint.start_date, sprint.end_date, sprint.project_id) == (START, END, project.id)
    assert answer.sprint_created.user_id == alice.user_id


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": ""}, "INVALID_MESSAGE", None),
        ({"name": "n" * 101}, "INVALID_MESSAGE", None),
        ({"start_date": END, "end_date": START}, "INVALID_MESSAGE", None),
        ({"start_date": START, "end_date": START}, "INVALID_MESSAGE", None),
        # pm-server's range: from a year back to five years ahead of its clock.
        ({"start_date": START - 400 * 86_400}, "INVALID_MESSAGE", None),
        ({"end_date": START + 6 * 365 * 86_400}, "INVALID_MESSAGE", None),
        ({"project_id": "p"}, "VALIDATION_ERROR", "project_id"),
    ],
)
async def test_create_sprint_validation(
    alice: RawClient, project: pb.Project, fields: dict[str, Any], code: str, field: str | None
) -> None:
    request: dict[str, Any] = {
        "project_id": project.id,
        "name": "S",
        "start_date": START,
        "end_date": END,
        **fields,
    }
    error = assert_error(await alice.call("create_sprint_request", **request), code, field)
    assert error.HasField("field") == (field is not None)


async def test_update_sprint_increments_version_and_lists_changes(
    alice: RawClient, project: pb.Project
) -> None:
    sprint = await alice.create_sprint(project.id)
    request = make(
        "update_sprint_request", sprint_id=sprint.id, expected_version=1, name="Renamed", status=pb.ACTIVE
    )
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    updated = answer.sprint_updated
    assert (updated.sprint.version, updated.sprint.name, updated.sprint.status) == (2, "Renamed", pb.ACTIVE)
    assert {(c.field_name, c.old_value, c.new_value) for c in updated.changes} == {
        ("name", "Sprint 1", "Renamed"),
        ("status", "planned", "active"),
    }
    stale = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=1, name="x")
    assert "current version: 2" in assert_error(stale, "CONFLICT").message
    bad = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=2, status=9)
    assert_error(bad, "VALIDATION_ERROR", "status")
    done = await alice.call(
        "update_sprint_request", sprint_id=sprint.id, expected_version=2, status=pb.COMPLETED
    )
    assert done.sprint_updated.sprint.status == pb.COMPLETED
    frozen = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=3, name="late")
    assert "current version: 3" in assert_error(frozen, "CONFLICT").message  # completed: no more updates


async def test_delete_sprint_soft_deletes_unless_completed(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    sprint = await alice.create_sprint(project.id)
    done = await alice.create_sprint(project.id, name="Done")
    await alice.call("update_sprint_request", sprint_id=done.id, expected_version=1, status=pb.ACTIVE)
    await alice.call("update_sprint_request", sprint_id=done.id, expected_version=2, status=pb.COMPLETED)
    assert_error(await alice.call("delete_sprint_request", sprint_id=done.id), "DELETE_BLOCKED")
    request = make("delete_sprint_request", sprint_id=sprint.id)
    answer, _ = await alice.request(request)
    assert (answer.message_id, answer.sprint_deleted.sprint_id) == (request.message_id, sprint.id)
    assert [s.id for s in server.sprints(project.id)] == [done.id]
    assert len(server.sprints(project.id, include_deleted=True)) == 2
    assert_error(await alice.call("delete_sprint_request", sprint_id=sprint.id), "NOT_FOUND")


async def test_get_sprints_lists_live_sprints_newest_start_first(
    alice: RawClient, project: pb.Project, connect: Connect
) -> None:
    first = await alice.create_sprint(project.id, name="A")
    second = await alice.create_sprint(project.id, name="B", start_date=END, end_date=END + 86_400)
    request = make("get_sprints_request", project_id=project.id)
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    assert [s.id for s in answer.sprints_list.sprints] == [second.id, first.id]
    stranger = await connect()
    assert_error(await stranger.call("get_sprints_request", project_id=project.id), "UNAUTHORIZED")
    assert_error(await alice.call("get_sprints_request", project_id=new_id()), "UNAUTHORIZED")


async def test_create_project_makes_the_creator_admin(server: PmTestServer, alice: RawClient) -> None:
    request = make("create_project_request", key="core_1", title="  Core  ", description="d")
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    project = answer.project_created.project
    assert (project.key, project.title, project.version, project.status, project.next_work_item_number) == (
        "CORE_1",  # stored upper case
        "Core",  # stored trimmed
        1,
        pb.PROJECT_STATUS_ACTIVE,
        1,
    )
    assert [p.id for p in server.projects()] == [project.id]
    item = await alice.create_item(project.id)
    assert item.item_number == 1
    listed = await alice.call("list_projects_request")
    assert listed.project_list.projects[0].next_work_item_number == 2


@pytest.mark.parametrize(
    "fields",
    [{"key": "A"}, {"key": "A" * 21}, {"key": "AB-C"}, {"key": "ÄB"}, {"title": ""}, {"title": "t" * 201}],
)
async def test_create_project_validation_is_invalid_message_without_field(
    alice: RawClient, fields: dict[str, Any]
) -> None:
    request: dict[str, Any] = {"key": "OK", "title": "Title", **fields}
    error = assert_error(await alice.call("create_project_request", **request), "INVALID_MESSAGE")
    assert not error.HasField("field")


async def test_project_keys_are_unique_case_insensitively(alice: RawClient) -> None:
    await alice.create_project("DUP")
    answer = await alice.call("create_project_request", key="dup", title="again")
    assert assert_error(answer, "VALIDATION_ERROR", "key").message == (
        "Validation failed: Project key 'DUP' already exists"
    )


async def test_list_projects_lists_every_live_project_by_title(connect: Connect, alice: RawClient) -> None:
    mine = await alice.create_project(title="b")
    bob = await connect()
    theirs = await bob.create_project(title="a")
    request = make("list_projects_request")
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    assert [p.id for p in answer.project_list.projects] == [theirs.id, mine.id]


async def test_project_update_and_delete_check_versions_but_no_role(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    stranger = await connect()  # not even a member: pm-server checks nothing for projects
    answer = await stranger.call(
        "update_project_request",
        project_id=project.id,
        expected_version=1,
        title="Renamed",
        status=pb.PROJECT_STATUS_ARCHIVED,
    )
    assert answer.project_updated.project.version == 2
    assert [(c.field_name, c.old_value, c.new_value) for c in answer.project_updated.changes] == [
        ("title", "Project", "Renamed"),
        ("status", "active", "archived"),
    ]
    stale = await alice.call("update_project_request", project_id=project.id, expected_version=1, title="y")
    assert "current version: 2" in assert_error(stale, "CONFLICT").message
    stale_delete = await alice.call("delete_project_request", project_id=project.id, expected_version=1)
    assert_error(stale_delete, "CONFLICT")
    deleted = await stranger.call("delete_project_request", project_id=project.id, expected_version=2)
    assert deleted.project_deleted.project_id == project.id
    assert (await alice.call("list_projects_request")).project_list.projects == []
    again = await alice.call("delete_project_request", project_id=project.id, expected_version=2)
    assert_error(again, "NOT_FOUND")


async def test_delete_project_is_blocked_while_live_items_exist(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id)
    blocked = await alice.call("delete_project_request", project_id=project.id, expected_version=1)
    assert assert_error(blocked, "DELETE_BLOCKED").message == (
        "Cannot delete: Cannot delete project: has 1 work item(s). Delete or move them first."
    )
    await alice.call("delete_work_item_request", work_item_id=item.id)
    deleted = await alice.call("delete_project_request", project_id=project.id, expected_version=1)
    assert deleted.project_deleted.project_id == project.id
