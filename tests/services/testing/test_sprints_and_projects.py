"""Sprint and project requests: each row of protocol.md's table and their rules."""

from __future__ import annotations

import pytest

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import Connect, RawClient, assert_error, make, new_id

START = 1_700_000_000
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
        ({"name": ""}, "INVALID_MESSAGE", "name"),
        ({"name": "n" * 101}, "INVALID_MESSAGE", "name"),
        ({"start_date": END, "end_date": START}, "INVALID_MESSAGE", "end_date"),
        ({"start_date": START, "end_date": START}, "INVALID_MESSAGE", "end_date"),
        ({"project_id": "p"}, "VALIDATION_ERROR", "project_id"),
    ],
)
async def test_create_sprint_validation(
    alice: RawClient, project: pb.Project, fields: dict[str, object], code: str, field: str
) -> None:
    request = {"project_id": project.id, "name": "S", "start_date": START, "end_date": END, **fields}
    assert_error(await alice.call("create_sprint_request", **request), code, field)


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
        ("status", "PLANNED", "ACTIVE"),
    }
    stale = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=1, name="x")
    assert "current version: 2" in assert_error(stale, "CONFLICT").message
    bad = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=2, status=9)
    assert_error(bad, "VALIDATION_ERROR", "status")


async def test_delete_sprint_soft_deletes_unless_completed(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    sprint = await alice.create_sprint(project.id)
    done = await alice.create_sprint(project.id, name="Done")
    await alice.call("update_sprint_request", sprint_id=done.id, expected_version=1, status=pb.COMPLETED)
    assert_error(await alice.call("delete_sprint_request", sprint_id=done.id), "DELETE_BLOCKED")
    request = make("delete_sprint_request", sprint_id=sprint.id)
    answer, _ = await alice.request(request)
    assert (answer.message_id, answer.sprint_deleted.sprint_id) == (request.message_id, sprint.id)
    assert [s.id for s in server.sprints(project.id)] == [done.id]
    assert len(server.sprints(project.id, include_deleted=True)) == 2
    assert_error(await alice.call("delete_sprint_request", sprint_id=sprint.id), "NOT_FOUND")


async def test_get_sprints_lists_live_sprints(
    alice: RawClient, project: pb.Project, connect: Connect
) -> None:
    first = await alice.create_sprint(project.id, name="A")
    second = await alice.create_sprint(project.id, name="B", start_date=END, end_date=END + 86_400)
    request = make("get_sprints_request", project_id=project.id)
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    assert [s.id for s in answer.sprints_list.sprints] == [first.id, second.id]
    stranger = await connect()
    assert_error(await stranger.call("get_sprints_request", project_id=project.id), "UNAUTHORIZED")
    assert_error(await alice.call("get_sprints_request", project_id=new_id()), "NOT_FOUND")


async def test_create_project_makes_the_creator_admin(server: PmTestServer, alice: RawClient) -> None:
    request = make("create_project_request", key="CORE", title="Core", description="d")
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    project = answer.project_created.project
    assert (project.key, project.title, project.version, project.status) == (
        "CORE",
        "Core",
        1,
        pb.PROJECT_STATUS_ACTIVE,
    )
    assert [p.id for p in server.projects()] == [project.id]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"key": "core"}, "VALIDATION_ERROR", "key"),
        ({"key": "1AB"}, "VALIDATION_ERROR", "key"),
        ({"key": "ABCDEFGHIJK"}, "VALIDATION_ERROR", "key"),
        ({"title": ""}, "INVALID_MESSAGE", "title"),
    ],
)
async def test_create_project_validation(
    alice: RawClient, fields: dict[str, object], code: str, field: str
) -> None:
    request = {"key": "OK", "title": "Name", **fields}
    assert_error(await alice.call("create_project_request", **request), code, field)


async def test_project_keys_are_unique(alice: RawClient) -> None:
    await alice.create_project("DUP")
    assert_error(
        await alice.call("create_project_request", key="DUP", title="again"), "VALIDATION_ERROR", "key"
    )


async def test_list_projects_lists_only_the_users_projects(connect: Connect, alice: RawClient) -> None:
    mine = await alice.create_project()
    bob = await connect()
    await bob.create_project()
    request = make("list_projects_request")
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    assert [p.id for p in answer.project_list.projects] == [mine.id]


async def test_update_and_delete_project_need_admin(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    member = await connect()
    server.add_member(project.id, member.user_id)
    denied = await member.call("update_project_request", project_id=project.id, expected_version=1, title="x")
    assert_error(denied, "UNAUTHORIZED")
    answer = await alice.call(
        "update_project_request",
        project_id=project.id,
        expected_version=1,
        title="Renamed",
        status=pb.PROJECT_STATUS_ARCHIVED,
    )
    assert answer.project_updated.project.version == 2
    assert [c.field_name for c in answer.project_updated.changes] == ["title", "status"]
    stale = await alice.call("update_project_request", project_id=project.id, expected_version=1, title="y")
    assert "current version: 2" in assert_error(stale, "CONFLICT").message
    assert_error(await member.call("delete_project_request", project_id=project.id), "UNAUTHORIZED")
    deleted = await alice.call("delete_project_request", project_id=project.id)
    assert deleted.project_deleted.project_id == project.id
    assert_error(await alice.call("get_work_items_request", project_id=project.id), "NOT_FOUND")
    assert (await alice.call("list_projects_request")).project_list.projects == []
