"""pm-server's surprising behaviour, reproduced by the reference server: one test per quirk.

Each docstring names the upstream source (TonyMarkham/blazor-agile-board v0.1.4, ``backend/crates``)
that behaves so. The README's "pm-server quirks" table lists the same set.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import Connect, RawClient, assert_error, make, new_id

DAY = 86_400


def _sprint_fields(project_id: str, name: str = "S", start: int | None = None) -> dict[str, Any]:
    start = start if start is not None else int(time.time()) + DAY
    return {"project_id": project_id, "name": name, "start_date": start, "end_date": start + 14 * DAY}


async def _update(client: RawClient, item: pb.WorkItem, **fields: Any) -> pb.WebSocketMessage:
    return await client.call(
        "update_work_item_request", work_item_id=item.id, expected_version=item.version, **fields
    )


@pytest.mark.parametrize(
    "fields",
    [{"priority": "high"}, {"story_points": 8}, {"sprint_id": "SPRINT"}],
    ids=["priority", "story_points", "sprint_id"],
)
async def test_update_changing_only_untracked_fields_is_a_noop_and_not_stored(
    server: PmTestServer, alice: RawClient, project: pb.Project, fields: dict[str, Any]
) -> None:
    """``pm-ws/src/handlers/change_tracker.rs`` tracks neither priority, story points nor sprint."""
    sprint = await alice.create_sprint(project.id)
    item = await alice.create_item(project.id)
    request = {name: (sprint.id if value == "SPRINT" else value) for name, value in fields.items()}
    answer = await _update(alice, item, **request)
    updated = answer.work_item_updated
    assert (list(updated.changes), updated.work_item.version) == ([], 1)
    stored = server.work_items(project.id)[0]
    assert (stored.priority, stored.HasField("story_points"), stored.HasField("sprint_id")) == (
        "medium",
        False,
        False,
    )


async def test_untracked_fields_are_stored_when_a_tracked_one_changes_but_never_listed(
    alice: RawClient, project: pb.Project
) -> None:
    """``work_item.rs`` ``apply_updates`` applies every field once ``track_changes`` found one."""
    item = await alice.create_item(project.id)
    answer = await _update(alice, item, title="renamed", priority="high", story_points=3)
    updated = answer.work_item_updated
    assert (updated.work_item.priority, updated.work_item.story_points, updated.work_item.version) == (
        "high",
        3,
        2,
    )
    assert [c.field_name for c in updated.changes] == ["title"]


async def test_invalid_untracked_field_alone_is_answered_as_a_noop(
    alice: RawClient, project: pb.Project
) -> None:
    """``work_item.rs``: validation runs in ``apply_updates``, after the no-op early return."""
    item = await alice.create_item(project.id)
    for fields in ({"priority": "urgent"}, {"story_points": 1000}):
        answer = await _update(alice, item, **fields)
        assert answer.WhichOneof("payload") == "work_item_updated", answer
        assert list(answer.work_item_updated.changes) == []


async def test_blocked_status_is_accepted_by_the_handler_but_refused_by_the_database(
    alice: RawClient, project: pb.Project
) -> None:
    """``work_item.rs`` ``validate_status`` allows 'blocked'; ``pm-db`` migrations' CHECK does not."""
    item = await alice.create_item(project.id)
    error = assert_error(await _update(alice, item, status="blocked"), "DATABASE_ERROR")
    assert "CHECK constraint failed" in error.message
    assert not error.HasField("field")


@pytest.mark.parametrize("fields", [{"status": "blocked"}, {"status": "nope"}, {"priority": "urgent"}])
async def test_create_status_and_priority_are_not_validated_so_the_database_refuses_them(
    server: PmTestServer, alice: RawClient, project: pb.Project, fields: dict[str, Any]
) -> None:
    """``work_item.rs`` ``handle_create`` stores the request's status and priority unchecked."""
    answer = await alice.call(
        "create_work_item_request", project_id=project.id, title="t", item_type=pb.TASK, **fields
    )
    assert_error(answer, "DATABASE_ERROR")
    assert server.work_items(project.id) == []
    assert (await alice.create_item(project.id)).item_number == 1  # the failed create used no number


async def test_unknown_assignee_is_a_database_error(alice: RawClient, project: pb.Project) -> None:
    """``work_item.rs`` parses but does not look up the assignee; the ``users`` foreign key refuses it."""
    item = await alice.create_item(project.id)
    assert_error(await _update(alice, item, assignee_id=new_id()), "DATABASE_ERROR")
    assigned = await _update(alice, item, assignee_id=alice.user_id)  # a user who connected is known
    assert assigned.work_item_updated.work_item.assignee_id == alice.user_id


async def test_unknown_sprint_is_a_database_error(alice: RawClient, project: pb.Project) -> None:
    """``work_item.rs`` does not look the sprint up; the ``pm_sprints`` foreign key refuses it."""
    item = await alice.create_item(project.id)
    assert_error(await _update(alice, item, title="t", sprint_id=new_id()), "DATABASE_ERROR")


async def test_sprint_of_another_project_is_accepted(alice: RawClient, project: pb.Project) -> None:
    """``work_item.rs`` never checks that the sprint belongs to the item's project."""
    other = await alice.create_project()
    sprint = await alice.create_sprint(other.id)
    item = await alice.create_item(project.id)
    answer = await _update(alice, item, title="t", sprint_id=sprint.id)
    assert answer.work_item_updated.work_item.sprint_id == sprint.id


async def test_parent_in_another_project_is_accepted(alice: RawClient, project: pb.Project) -> None:
    """``hierarchy_validator.rs`` checks the parent's type only, not its project."""
    other = await alice.create_project()
    epic = await alice.create_item(other.id, item_type=pb.EPIC)
    story = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    assert (story.parent_id, list(story.ancestor_ids)) == (epic.id, [epic.id])


async def test_nonexistent_project_is_unauthorized_not_not_found(alice: RawClient) -> None:
    """``authorization.rs`` ``check_permission`` runs before anything looks the project up."""
    for kind, fields in (
        ("get_work_items_request", {}),
        ("get_sprints_request", {}),
        ("create_work_item_request", {"title": "t", "item_type": pb.TASK}),
        ("create_sprint_request", _sprint_fields("")),
    ):
        answer = await alice.call(kind, **{**fields, "project_id": new_id()})
        assert assert_error(answer, "UNAUTHORIZED").message == "Unauthorized: Not a member of this project"


async def test_roles_are_viewer_editor_admin_and_deletes_need_admin(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """``pm-core/src/models/project_member.rs`` ``has_permission``."""
    item = await alice.create_item(project.id)
    editor = await connect()
    server.add_member(project.id, editor.user_id, "editor")
    assert (await _update(editor, item, title="by editor")).work_item_updated.work_item.version == 2
    denied = await editor.call("delete_work_item_request", work_item_id=item.id)
    assert assert_error(denied, "UNAUTHORIZED").message == (
        "Unauthorized: Insufficient permission. Required: Admin, have: editor"
    )
    assert (await alice.call("delete_work_item_request", work_item_id=item.id)).HasField("work_item_deleted")


async def test_second_active_sprint_is_conflict_with_the_current_version(
    alice: RawClient, project: pb.Project
) -> None:
    """``sprint.rs`` ``validate_sprint_status_transition``: a business rule answered as CONFLICT."""
    first = await alice.create_sprint(project.id)
    second = await alice.create_sprint(project.id, name="S2")
    await alice.call("update_sprint_request", sprint_id=first.id, expected_version=1, status=pb.ACTIVE)
    answer = await alice.call(
        "update_sprint_request", sprint_id=second.id, expected_version=1, status=pb.ACTIVE
    )
    assert assert_error(answer, "CONFLICT").message == "Conflict: resource was modified (current version: 1)"


async def test_any_update_of_a_completed_sprint_is_conflict_and_its_delete_blocked(
    alice: RawClient, project: pb.Project
) -> None:
    """``sprint.rs`` ``handle_update_sprint`` step 5 and ``handle_delete_sprint``."""
    sprint = await alice.create_sprint(project.id)
    await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=1, status=pb.ACTIVE)
    await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=2, status=pb.COMPLETED)
    answer = await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=3, goal="late")
    assert assert_error(answer, "CONFLICT").message.endswith("(current version: 3)")
    blocked = await alice.call("delete_sprint_request", sprint_id=sprint.id)
    assert assert_error(blocked, "DELETE_BLOCKED").message == "Cannot delete: Cannot delete completed sprint"


async def test_sprint_changes_render_status_lower_case_dates_rfc3339_and_goal_absent_when_unset(
    alice: RawClient, project: pb.Project
) -> None:
    """``sprint.rs`` with ``field_change_builder.rs``: ``as_str()`` statuses, ``to_rfc3339()`` dates."""
    sprint = await alice.create_sprint(project.id)
    answer = await alice.call(
        "update_sprint_request",
        sprint_id=sprint.id,
        expected_version=1,
        goal="ship",
        start_date=1_800_000_000,
        status=pb.ACTIVE,
    )
    changes = {c.field_name: c for c in answer.sprint_updated.changes}
    assert not changes["goal"].HasField("old_value")
    assert changes["start_date"].new_value == "2027-01-15T08:00:00+00:00"
    assert (changes["status"].old_value, changes["status"].new_value) == ("planned", "active")


async def test_update_entries_carry_a_fields_changed_comment_and_no_field(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """``pm-core/src/models/activity_log.rs`` ``ActivityLog::updated``."""
    item = await alice.create_item(project.id)
    await alice.subscribe(project.id)
    _, before = await alice.request(
        make("update_work_item_request", work_item_id=item.id, expected_version=1, title="a", description="b")
    )
    entry = before[0].activity_log_created.entry
    assert (entry.action, entry.comment) == ("updated", "2 fields changed")
    assert [entry.HasField(name) for name in ("field_name", "old_value", "new_value")] == [False] * 3


async def test_work_item_old_values_are_empty_strings_when_unset(
    alice: RawClient, project: pb.Project
) -> None:
    """``change_tracker.rs``: description and assignee changes start from "" (parent from absent)."""
    item = await alice.create_item(project.id)
    answer = await _update(alice, item, description="d", assignee_id=alice.user_id)
    assert {(c.field_name, c.old_value) for c in answer.work_item_updated.changes} == {
        ("description", ""),
        ("assignee_id", ""),
    }


async def test_free_text_is_stored_trimmed_but_changes_show_the_raw_text(
    alice: RawClient, project: pb.Project
) -> None:
    """``work_item.rs`` ``sanitize_string`` trims after the length check; ``track_changes`` sees raw text."""
    item = await alice.create_item(project.id, title="  padded  ", description=" d ")
    assert (item.title, item.description) == ("padded", "d")
    answer = await _update(alice, item, title=" padded ")
    updated = answer.work_item_updated
    assert (updated.work_item.title, updated.work_item.version) == ("padded", 2)
    assert [(c.old_value, c.new_value) for c in updated.changes] == [("padded", " padded ")]
    blank = await alice.create_item(project.id, title="   ")  # passes the 1-200 check, stored empty
    assert blank.title == ""


async def test_description_too_long_on_update_is_validation_error_on_description(
    alice: RawClient, project: pb.Project
) -> None:
    """``work_item.rs`` ``apply_updates`` (on create the same rule is INVALID_MESSAGE without field)."""
    item = await alice.create_item(project.id)
    error = assert_error(
        await _update(alice, item, description="x" * 10_001), "VALIDATION_ERROR", "description"
    )
    assert error.message == "Validation failed: Description exceeds 10000 characters"


async def test_replay_is_per_user_and_request_not_by_message_id_alone(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """``idempotency.rs`` keys by message_id alone (``""`` included), across users and request kinds.

    A security difference (**ref**, the README's pm-server quirks): the reference server replays only
    the same user's same request; creates only, after the field checks, as pm-server.
    """

    async def send(client: RawClient, kind: str, **fields: Any) -> pb.WebSocketMessage:
        envelope = make(kind, **fields)
        envelope.message_id = ""
        answer, _ = await client.request(envelope)
        return answer

    item = {"project_id": project.id, "title": "a", "item_type": pb.TASK}
    first = await send(alice, "create_work_item_request", **item)
    again = await send(alice, "create_work_item_request", **item)
    assert again.work_item_created.work_item.id == first.work_item_created.work_item.id
    other_kind = await send(alice, "create_sprint_request", **_sprint_fields(project.id))
    assert "already used" in assert_error(other_kind, "INVALID_MESSAGE").message
    stranger = await send(await connect(), "create_work_item_request", **item)
    assert_error(stranger, "UNAUTHORIZED")  # pm-server would hand her alice's item
    invalid = await send(alice, "create_sprint_request", **{**_sprint_fields(project.id), "name": ""})
    assert_error(invalid, "INVALID_MESSAGE")  # field checks come before the replay
    assert "already used" not in invalid.error.message


async def test_key_of_a_deleted_project_is_a_database_error(alice: RawClient) -> None:
    """``project.rs`` looks for live keys only; the migrations' ``UNIQUE(key)`` covers deleted rows."""
    project = await alice.create_project("GONE")
    await alice.call("delete_project_request", project_id=project.id, expected_version=1)
    answer = await alice.call("create_project_request", key="gone", title="again")
    assert "UNIQUE constraint failed" in assert_error(answer, "DATABASE_ERROR").message


async def test_creating_an_item_in_a_deleted_project_is_a_database_error(
    alice: RawClient, project: pb.Project
) -> None:
    """``project_repository.rs`` ``get_and_increment_work_item_number`` finds no live project; members remain."""
    await alice.call("delete_project_request", project_id=project.id, expected_version=1)
    answer = await alice.call("create_work_item_request", project_id=project.id, title="t", item_type=pb.TASK)
    assert "not found when incrementing work item counter" in assert_error(answer, "DATABASE_ERROR").message


async def test_project_description_old_value_is_absent_when_unset(
    alice: RawClient, project: pb.Project
) -> None:
    """``project.rs`` ``handle_update`` (unlike work items, whose old value is "")."""
    answer = await alice.call(
        "update_project_request", project_id=project.id, expected_version=1, description="d"
    )
    (change,) = answer.project_updated.changes
    assert (change.field_name, change.HasField("old_value"), change.new_value) == ("description", False, "d")


async def test_deletes_keep_the_version(server: PmTestServer, alice: RawClient, project: pb.Project) -> None:
    """``pm-db`` repositories' soft deletes set ``deleted_at`` (work items also ``updated_*``) only."""
    item = await alice.create_item(project.id)
    sprint = await alice.create_sprint(project.id)
    await alice.call("delete_work_item_request", work_item_id=item.id)
    await alice.call("delete_sprint_request", sprint_id=sprint.id)
    (stored_item,) = server.work_items(project.id, include_deleted=True)
    (stored_sprint,) = server.sprints(project.id, include_deleted=True)
    assert (stored_item.version, stored_sprint.version) == (1, 1)
    assert [stored_item.HasField("deleted_at"), stored_sprint.HasField("deleted_at")] == [True, True]


async def test_ids_in_any_rust_uuid_spelling_are_canonicalised(alice: RawClient, project: pb.Project) -> None:
    """``Uuid::parse_str`` accepts simple, hyphenated, braced and URN spellings, any hex case."""
    canonical = project.id
    for spelling in (
        canonical.upper(),
        canonical.replace("-", ""),
        "{" + canonical + "}",
        "urn:uuid:" + canonical,
    ):
        item = await alice.create_item(spelling)
        assert item.project_id == canonical
    for refused in (canonical[:8] + "-" + canonical[8:], "{" + canonical, "uuid:" + canonical):
        answer = await alice.call(
            "create_work_item_request", project_id=refused, title="t", item_type=pb.TASK
        )
        assert_error(answer, "VALIDATION_ERROR", "project_id")


async def test_subscription_ids_are_matched_as_exact_strings(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """``client_subscriptions.rs`` keeps the strings as sent; broadcasts use the canonical spelling."""
    watcher = await connect()
    await watcher.call("subscribe", project_ids=[project.id.upper()])
    await alice.create_item(project.id)
    _, before = await watcher.request(make("ping", timestamp=1))
    assert before == []


async def test_a_stranger_may_subscribe_to_any_project(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """``subscription.rs`` checks no membership before subscribing."""
    stranger = await connect()
    await stranger.subscribe(project.id)
    item = await alice.create_item(project.id)
    heard = [await stranger.recv_message(), await stranger.recv_message()]
    assert heard[1].work_item_created.work_item.id == item.id


async def test_with_jwt_auth_no_user_is_known_so_every_assignment_fails() -> None:
    """``pm-ws/src/app_state.rs`` records users in desktop mode only (``server.add_user`` stands in)."""
    async with PmTestServer(auth_token="secret") as server:
        headers = {"Authorization": "Bearer secret"}
        async with ws_connect(server.url, additional_headers=headers, ping_interval=None) as ws:
            user = str(server.user_for_token("secret"))
            client = RawClient(ws, user)
            project = await client.create_project()
            item = await client.create_item(project.id)
            assert_error(await _update(client, item, assignee_id=user), "DATABASE_ERROR")
            server.add_user(user)
            assigned = await _update(client, item, assignee_id=user)
            assert assigned.work_item_updated.work_item.assignee_id == user
