"""Work-item requests: create, update, delete, get, their rules and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import Connect, RawClient, assert_error, make, new_id


async def test_create_answers_work_item_created_with_defaults(alice: RawClient, project: pb.Project) -> None:
    request = make("create_work_item_request", project_id=project.id, title="Write docs", item_type=pb.TASK)
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    created = answer.work_item_created
    assert created.user_id == alice.user_id
    item = created.work_item
    assert (item.version, item.status, item.priority, item.title) == (1, "backlog", "medium", "Write docs")
    assert (item.item_number, item.position, item.project_id) == (1, 1, project.id)  # first position is 1
    assert item.created_by == item.updated_by == alice.user_id
    assert not item.HasField("deleted_at")


async def test_create_keeps_given_status_priority_and_description(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id, status="todo", priority="critical", description="why")
    assert (item.status, item.priority, item.description) == ("todo", "critical", "why")


async def test_positions_follow_the_last_sibling_and_numbers_grow_per_project(
    alice: RawClient, project: pb.Project
) -> None:
    epic = await alice.create_item(project.id, item_type=pb.EPIC)
    first = await alice.create_item(project.id, item_type=pb.EPIC)
    story_a = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    story_b = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    assert [epic.position, first.position, story_a.position, story_b.position] == [1, 2, 1, 2]
    assert [i.item_number for i in (epic, first, story_a, story_b)] == [1, 2, 3, 4]
    other = await alice.create_project()
    assert (await alice.create_item(other.id)).item_number == 1


async def test_ancestor_and_descendant_ids_are_filled(alice: RawClient, project: pb.Project) -> None:
    epic = await alice.create_item(project.id, item_type=pb.EPIC)
    story = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    task = await alice.create_item(project.id, item_type=pb.TASK, parent_id=story.id)
    assert list(task.ancestor_ids) == [story.id, epic.id]
    listed = (await alice.call("get_work_items_request", project_id=project.id)).work_items_list.work_items
    by_id = {item.id: item for item in listed}
    assert set(by_id[epic.id].descendant_ids) == {story.id, task.id}
    assert list(by_id[story.id].descendant_ids) == [task.id]
    assert list(by_id[story.id].ancestor_ids) == [epic.id]


@pytest.mark.parametrize(
    ("child", "parent"),
    [(pb.EPIC, pb.EPIC), (pb.STORY, pb.STORY), (pb.STORY, pb.TASK), (pb.TASK, pb.TASK)],
)
async def test_hierarchy_is_epic_over_story_over_task(
    alice: RawClient, project: pb.Project, child: int, parent: int
) -> None:
    holder = await alice.create_item(project.id, item_type=parent)
    answer = await alice.call(
        "create_work_item_request", project_id=project.id, title="x", item_type=child, parent_id=holder.id
    )
    assert_error(answer, "VALIDATION_ERROR", "parent_id")


async def test_get_lists_live_items_by_position_with_as_of_now(alice: RawClient, project: pb.Project) -> None:
    a = await alice.create_item(project.id, title="a")
    b = await alice.create_item(project.id, title="b")
    c = await alice.create_item(project.id, title="c")
    await alice.call("update_work_item_request", work_item_id=a.id, expected_version=1, position=9)
    await alice.call("delete_work_item_request", work_item_id=b.id)
    request = make("get_work_items_request", project_id=project.id, since_timestamp=2_000_000_000)
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    listed = answer.work_items_list
    assert [i.id for i in listed.work_items] == [c.id, a.id]  # full list despite since_timestamp
    assert listed.as_of_timestamp >= a.created_at


async def test_update_applies_changes_bumps_version_and_lists_field_changes(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id, title="old")
    assignee = alice.user_id  # a known user: pm-server records each desktop-mode user on connect
    request = make(
        "update_work_item_request",
        work_item_id=item.id,
        expected_version=1,
        title="new",
        status="in_progress",
        story_points=5,
        assignee_id=assignee,
    )
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    updated = answer.work_item_updated
    assert (updated.work_item.version, updated.work_item.title, updated.work_item.story_points) == (
        2,
        "new",
        5,
    )
    assert updated.work_item.assignee_id == assignee
    changes = {
        c.field_name: (c.old_value if c.HasField("old_value") else None, c.new_value) for c in updated.changes
    }
    # As pm-server's change_tracker.rs: story points are applied but never listed; unset is "".
    assert changes == {
        "title": ("old", "new"),
        "status": ("backlog", "in_progress"),
        "assignee_id": ("", assignee),
    }


async def test_update_clears_assignee_with_empty_string_and_moves_to_a_sprint(
    alice: RawClient, project: pb.Project
) -> None:
    sprint = await alice.create_sprint(project.id)
    item = await alice.create_item(project.id)
    first = await alice.call(
        "update_work_item_request",
        work_item_id=item.id,
        expected_version=1,
        assignee_id=alice.user_id,
        sprint_id=sprint.id,
    )
    assert first.work_item_updated.work_item.sprint_id == sprint.id
    cleared = await alice.call(
        "update_work_item_request", work_item_id=item.id, expected_version=2, assignee_id=""
    )
    assert not cleared.work_item_updated.work_item.HasField("assignee_id")
    # An unknown sprint is not checked by the handler: the foreign key refuses it.
    missing = await alice.call(
        "update_work_item_request", work_item_id=item.id, expected_version=3, sprint_id=new_id(), title="t"
    )
    assert_error(missing, "DATABASE_ERROR")


async def test_update_parent_only_with_update_parent(alice: RawClient, project: pb.Project) -> None:
    epic = await alice.create_item(project.id, item_type=pb.EPIC)
    story = await alice.create_item(project.id, item_type=pb.STORY)
    ignored = await alice.call(
        "update_work_item_request", work_item_id=story.id, expected_version=1, parent_id=epic.id
    )
    assert list(ignored.work_item_updated.changes) == []
    moved = await alice.call(
        "update_work_item_request",
        work_item_id=story.id,
        expected_version=1,
        parent_id=epic.id,
        update_parent=True,
    )
    assert moved.work_item_updated.work_item.parent_id == epic.id
    assert list(moved.work_item_updated.work_item.ancestor_ids) == [epic.id]
    detached = await alice.call(
        "update_work_item_request", work_item_id=story.id, expected_version=2, update_parent=True
    )
    assert not detached.work_item_updated.work_item.HasField("parent_id")


async def test_noop_update_answers_empty_changes_keeps_version_and_broadcasts_nothing(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id, title="same")
    await alice.subscribe(project.id)
    request = make("update_work_item_request", work_item_id=item.id, expected_version=1, title="same")
    answer, before = await alice.request(request)
    assert before == []
    assert list(answer.work_item_updated.changes) == []
    assert answer.work_item_updated.work_item.version == 1


async def test_stale_expected_version_is_conflict_with_current_version(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id)
    await alice.call("update_work_item_request", work_item_id=item.id, expected_version=1, title="v2")
    answer = await alice.call(
        "update_work_item_request", work_item_id=item.id, expected_version=1, title="again"
    )
    error = assert_error(answer, "CONFLICT")
    assert "current version: 2" in error.message


async def test_retried_update_that_already_applied_gets_conflict(
    alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id)
    request = make("update_work_item_request", work_item_id=item.id, expected_version=1, title="once")
    first, _ = await alice.request(request)
    assert first.work_item_updated.work_item.version == 2
    retry, _ = await alice.request(request)
    assert "current version: 2" in assert_error(retry, "CONFLICT").message


async def test_delete_soft_deletes_and_a_retry_is_not_found(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id)
    request = make("delete_work_item_request", work_item_id=item.id)
    answer, _ = await alice.request(request)
    assert answer.message_id == request.message_id
    assert answer.work_item_deleted.work_item_id == item.id
    assert answer.work_item_deleted.user_id == alice.user_id
    stored = server.work_items(project.id, include_deleted=True)
    assert [i.id for i in stored if i.HasField("deleted_at")] == [item.id]
    assert server.work_items(project.id) == []
    retry, _ = await alice.request(request)
    assert_error(retry, "NOT_FOUND")


async def test_delete_with_live_children_is_blocked(alice: RawClient, project: pb.Project) -> None:
    epic = await alice.create_item(project.id, item_type=pb.EPIC)
    story = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    assert_error(await alice.call("delete_work_item_request", work_item_id=epic.id), "DELETE_BLOCKED")
    await alice.call("delete_work_item_request", work_item_id=story.id)
    answer = await alice.call("delete_work_item_request", work_item_id=epic.id)
    assert answer.work_item_deleted.work_item_id == epic.id


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"title": ""}, "INVALID_MESSAGE", None),
        ({"title": "x" * 201}, "INVALID_MESSAGE", None),
        ({"description": "x" * 10_001}, "INVALID_MESSAGE", None),
        # pm-server does not validate a create's status or priority: its CHECK constraints refuse them.
        ({"status": "finished"}, "DATABASE_ERROR", None),
        ({"priority": "urgent"}, "DATABASE_ERROR", None),
        ({"project_id": "not-a-uuid"}, "VALIDATION_ERROR", "project_id"),
        ({"parent_id": "not-a-uuid"}, "VALIDATION_ERROR", "parent_id"),
        ({"item_type": pb.WORK_ITEM_TYPE_UNSPECIFIED}, "VALIDATION_ERROR", "item_type"),
        (
            {"item_type": pb.EPIC, "parent_id": "00000000-0000-4000-8000-000000000001"},
            "VALIDATION_ERROR",
            "parent_id",
        ),
    ],
)
async def test_create_validation(
    alice: RawClient, project: pb.Project, fields: dict[str, Any], code: str, field: str | None
) -> None:
    request: dict[str, Any] = {"project_id": project.id, "title": "ok", "item_type": pb.TASK, **fields}
    error = assert_error(await alice.call("create_work_item_request", **request), code, field)
    assert error.HasField("field") == (field is not None)


async def test_title_length_counts_code_points(alice: RawClient, project: pb.Project) -> None:
    item = await alice.create_item(project.id, title="\U0001f600" * 200)  # 800 UTF-8 bytes, 200 code points
    assert len(item.title) == 200


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        # Story points alone would be a no-op (not tracked), so a title change comes along.
        ({"story_points": 101, "title": "changed"}, "VALIDATION_ERROR", "story_points"),
        ({"story_points": -1, "title": "changed"}, "VALIDATION_ERROR", "story_points"),
        ({"position": -1}, "VALIDATION_ERROR", "position"),
        ({"title": "x" * 201}, "INVALID_MESSAGE", None),
        ({"description": "x" * 10_001}, "VALIDATION_ERROR", "description"),
        ({"assignee_id": "bob"}, "VALIDATION_ERROR", "assignee_id"),
        ({"status": "nope"}, "VALIDATION_ERROR", "status"),
    ],
)
async def test_update_validation(
    alice: RawClient, project: pb.Project, fields: dict[str, Any], code: str, field: str | None
) -> None:
    item = await alice.create_item(project.id)
    answer = await alice.call("update_work_item_request", work_item_id=item.id, expected_version=1, **fields)
    error = assert_error(answer, code, field)
    assert error.HasField("field") == (field is not None)


async def test_unknown_items_are_not_found_and_unknown_projects_unauthorized(alice: RawClient) -> None:
    assert_error(
        await alice.call("update_work_item_request", work_item_id=new_id(), expected_version=1), "NOT_FOUND"
    )
    assert_error(await alice.call("delete_work_item_request", work_item_id=new_id()), "NOT_FOUND")
    # pm-server checks membership first, so a project that does not exist is UNAUTHORIZED.
    assert_error(await alice.call("get_work_items_request", project_id=new_id()), "UNAUTHORIZED")
    answer = await alice.call("create_work_item_request", project_id=new_id(), title="x", item_type=pb.TASK)
    assert_error(answer, "UNAUTHORIZED")


async def test_non_members_are_unauthorized_until_added(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    item = await alice.create_item(project.id)
    bob = await connect()
    assert_error(await bob.call("get_work_items_request", project_id=project.id), "UNAUTHORIZED")
    assert_error(await bob.call("delete_work_item_request", work_item_id=item.id), "UNAUTHORIZED")
    server.add_member(project.id, bob.user_id)
    listed = await bob.call("get_work_items_request", project_id=project.id)
    assert [i.id for i in listed.work_items_list.work_items] == [item.id]


async def test_viewers_may_read_but_not_write(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    viewer = await connect()
    server.add_member(project.id, viewer.user_id, role="viewer")
    assert (await viewer.call("get_work_items_request", project_id=project.id)).HasField("work_items_list")
    answer = await viewer.call(
        "create_work_item_request", project_id=project.id, title="x", item_type=pb.TASK
    )
    assert_error(answer, "UNAUTHORIZED")


async def test_empty_parent_id_on_create_means_no_parent(alice: RawClient, project: pb.Project) -> None:
    story = await alice.create_item(project.id, item_type=pb.STORY, parent_id="")
    assert not story.HasField("parent_id")
    epic = await alice.create_item(project.id, item_type=pb.EPIC, parent_id="")  # no parent, so allowed
    assert epic.position == 2


async def test_ids_in_other_spellings_reach_the_same_item(alice: RawClient, project: pb.Project) -> None:
    item = await alice.create_item(project.id)
    answer = await alice.call(
        "update_work_item_request", work_item_id="{" + item.id.upper() + "}", expected_version=1, title="t"
    )
    assert answer.work_item_updated.work_item.id == item.id
    deleted = await alice.call("delete_work_item_request", work_item_id=item.id.replace("-", ""))
    assert deleted.work_item_deleted.work_item_id == item.id  # answered in the canonical spelling
