"""WorkItemStore against an in-memory client: optimistic writes, rollback, idempotency, ordering."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.exceptions import (
    ConnectionException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.interfaces import IWorkItemStore
from projectmanagement_core.models import (
    CLEAR,
    ChangeKind,
    ConnectionState,
    CreateWorkItemRequest,
    EntityChange,
    ProjectSnapshot,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)
from projectmanagement_services.state import WorkItemStore
from tests.services.state.fake_client import FakeClient, make_item

PROJECT = UUID("11111111-1111-4111-8111-111111111111")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def store(client: FakeClient) -> WorkItemStore:
    return WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]


@pytest.fixture
def changes(store: WorkItemStore) -> list[EntityChange[WorkItem]]:
    seen: list[EntityChange[WorkItem]] = []
    store.on_changed.subscribe(seen.append)
    return seen


def seed(client: FakeClient, **overrides: object) -> WorkItem:
    item = make_item(project_id=PROJECT, **overrides)
    client.broadcast_item(item, created=True)
    return item


def test_store_satisfies_the_interface(store: WorkItemStore) -> None:
    assert isinstance(store, WorkItemStore)
    typed: IWorkItemStore = store
    assert typed.get(uuid4()) is None


# -- optimistic update ---------------------------------------------------------------------------


async def test_update_is_visible_at_once_then_replaced_by_the_answer(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client, title="old")
    changes.clear()

    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="new")))
    call = await client.next_call()

    assert store.get(item.id).title == "new"
    assert store.is_pending(item.id)
    assert call.argument.expected_version == 1
    assert [(c.kind, c.source) for c in changes] == [(ChangeKind.UPDATED, "local")]

    answer = item.model_copy(update={"title": "new", "version": 2})
    call.answer(answer)
    assert await task == answer
    assert store.get(item.id) == answer
    assert not store.is_pending(item.id)
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.UPDATED, "local"),
        (ChangeKind.UPDATED, "server"),
    ]


async def test_own_change_seen_as_broadcast_and_answer_is_applied_once(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client, title="old")
    changes.clear()
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="new")))
    call = await client.next_call()
    answer = item.model_copy(update={"title": "new", "version": 2})

    client.broadcast_item(answer)  # the server broadcasts before it answers
    call.answer(answer)
    await task

    server_changes = [c for c in changes if c.source == "server"]
    assert len(server_changes) == 1
    assert server_changes[0].current == answer
    assert store.get(item.id) == answer


async def test_failed_update_rolls_back_exactly_and_reraises(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client, title="old", story_points=3)
    before = store.get(item.id)
    changes.clear()

    task = asyncio.create_task(
        store.update(UpdateWorkItemRequest(work_item_id=item.id, title="x", story_points=5))
    )
    call = await client.next_call()
    error = ServerRejectedException("DATABASE_ERROR", "boom")
    call.fail(error)

    with pytest.raises(ServerRejectedException) as raised:
        await task
    assert raised.value is error
    assert store.get(item.id) == before
    assert store.get(item.id) is before
    assert not store.is_pending(item.id)
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.UPDATED, "local"),
        (ChangeKind.UPDATED, "rollback"),
    ]
    assert changes[-1].current is before


async def test_update_the_server_did_not_store_rolls_back_to_its_copy_and_is_reported(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    # pm-server's quirk: an update of priority and story points alone is answered unchanged, unstored.
    item = seed(client, priority="medium", story_points=None)
    reported: list[UpdateNotAppliedException] = []
    store.on_update_not_applied.subscribe(reported.append)
    changes.clear()

    task = asyncio.create_task(
        store.update(UpdateWorkItemRequest(work_item_id=item.id, priority="high", story_points=5))
    )
    call = await client.next_call()
    assert store.get(item.id).priority == "high"  # type: ignore[union-attr]  # shown at once
    dropped = UpdateNotAppliedException("UpdateWorkItem", item, ("priority", "story_points"))
    call.fail(dropped)

    with pytest.raises(UpdateNotAppliedException) as raised:
        await task
    assert raised.value is dropped
    assert reported == [dropped]
    assert store.get(item.id) == item  # the server's copy, not the user's lost change
    assert not store.is_pending(item.id)
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.UPDATED, "local"),
        (ChangeKind.UPDATED, "rollback"),
    ]


async def test_update_not_stored_shows_a_newer_server_copy_when_the_answer_carries_one(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, title="old", priority="medium")
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, priority="high")))
    call = await client.next_call()
    newer = item.model_copy(update={"title": "theirs", "version": item.version + 1})
    call.fail(UpdateNotAppliedException("UpdateWorkItem", newer, ("priority",)))

    with pytest.raises(UpdateNotAppliedException):
        await task
    assert store.get(item.id) == newer


async def test_clearing_assignee_and_sprint_shows_none_at_once(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, assignee_id=uuid4(), sprint_id=uuid4())
    request = UpdateWorkItemRequest(work_item_id=item.id, assignee_id=CLEAR, sprint_id=CLEAR)
    task = asyncio.create_task(store.update(request))
    call = await client.next_call()
    shown = store.get(item.id)
    assert shown is not None
    assert (shown.assignee_id, shown.sprint_id) == (None, None)
    answer = item.model_copy(update={"assignee_id": None, "sprint_id": None, "version": item.version + 1})
    call.answer(answer)
    assert await task == answer


async def test_cancelled_update_rolls_back(client: FakeClient, store: WorkItemStore) -> None:
    item = seed(client, title="old")
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="new")))
    await client.next_call()
    assert store.get(item.id).title == "new"

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.get(item.id) == item
    assert not store.is_pending(item.id)


async def test_newer_server_copy_wins_over_the_optimistic_copy_and_survives_rollback(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client, title="old")
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="mine")))
    call = await client.next_call()

    theirs = item.model_copy(update={"title": "theirs", "version": 2})
    client.broadcast_item(theirs)
    assert store.get(item.id) == theirs  # server versions always win

    call.fail(VersionConflictException(item.id, 1, 2))
    with pytest.raises(VersionConflictException):
        await task
    assert store.get(item.id) == theirs  # nothing to roll back: the newer server copy stays
    assert all(c.source != "rollback" for c in changes)


async def test_stale_and_duplicate_broadcasts_are_ignored(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client)
    v3 = item.model_copy(update={"title": "three", "version": 3})
    client.broadcast_item(v3)
    client.broadcast_item(v3)
    client.broadcast_item(item.model_copy(update={"title": "two", "version": 2}))
    assert store.get(item.id) == v3
    assert [c.kind for c in changes] == [ChangeKind.ADDED, ChangeKind.UPDATED]


async def test_caller_version_none_takes_the_store_copy_and_stale_caller_version_raises(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, version=4)
    with pytest.raises(VersionConflictException) as raised:
        await store.update(UpdateWorkItemRequest(work_item_id=item.id, expected_version=3, title="t"))
    assert raised.value.current_version == 4
    assert raised.value.expected_version == 3
    assert client.sent == []  # nothing sent, nothing overwritten
    assert store.get(item.id) == item


async def test_caller_version_is_sent_unchanged_when_not_known_stale(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, version=4)
    task = asyncio.create_task(
        store.update(UpdateWorkItemRequest(work_item_id=item.id, expected_version=6, title="t"))
    )
    call = await client.next_call()
    assert call.argument.expected_version == 6
    call.fail(VersionConflictException(item.id, 6, 4))
    with pytest.raises(VersionConflictException):
        await task
    assert store.get(item.id) == item


async def test_update_of_an_unknown_item_needs_a_version(client: FakeClient, store: WorkItemStore) -> None:
    with pytest.raises(ValidationException) as raised:
        await store.update(UpdateWorkItemRequest(work_item_id=uuid4(), title="t"))
    assert raised.value.fields == ["expected_version"]
    assert client.sent == []


async def test_invalid_update_is_refused_before_anything_is_shown(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client)
    changes.clear()
    with pytest.raises(ValidationException):
        await store.update(UpdateWorkItemRequest(work_item_id=item.id, title="x" * 201))
    assert changes == []
    assert client.sent == []


async def test_blind_update_of_unknown_item_applies_the_answer(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = make_item(project_id=PROJECT, version=3)
    task = asyncio.create_task(
        store.update(UpdateWorkItemRequest(work_item_id=item.id, expected_version=2, title="t"))
    )
    call = await client.next_call()
    assert store.get(item.id) is None
    assert store.is_pending(item.id)
    call.answer(item)
    await task
    assert store.get(item.id) == item


# -- serialisation -------------------------------------------------------------------------------


async def test_writes_to_one_item_are_serialised_and_chain_versions(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, title="a")
    first = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="b")))
    second = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, priority="high")))
    call1 = await client.next_call()
    await asyncio.sleep(0)  # give the second write every chance to (wrongly) send now
    assert client.calls.empty()
    v2 = item.model_copy(update={"title": "b", "version": 2})
    call1.answer(v2)

    call2 = await client.next_call()
    assert call2.argument.expected_version == 2
    assert store.get(item.id) == v2.model_copy(update={"priority": "high"})
    v3 = v2.model_copy(update={"priority": "high", "version": 3})
    call2.answer(v3)
    await asyncio.gather(first, second)
    assert store.get(item.id) == v3


async def test_writes_to_different_items_run_concurrently(client: FakeClient, store: WorkItemStore) -> None:
    a = seed(client, title="a")
    b = seed(client, title="b")
    ta = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=a.id, title="a2")))
    tb = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=b.id, title="b2")))
    call_a = await client.next_call()
    call_b = await client.next_call()  # both in flight at once
    call_b.fail(ConnectionException())
    call_a.answer(a.model_copy(update={"title": "a2", "version": 2}))
    await ta
    with pytest.raises(ConnectionException):
        await tb
    assert store.get(a.id).title == "a2"
    assert store.get(b.id) == b


# -- delete --------------------------------------------------------------------------------------


async def test_delete_hides_at_once_and_is_restored_on_failure(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client)
    changes.clear()
    task = asyncio.create_task(store.delete(item.id))
    call = await client.next_call()
    assert store.get(item.id) is None
    assert store.get_by_project(PROJECT) == []
    call.fail(ServerRejectedException("DELETE_BLOCKED", "has children"))
    with pytest.raises(ServerRejectedException):
        await task
    assert store.get(item.id) is item
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.REMOVED, "local"),
        (ChangeKind.ADDED, "rollback"),
    ]


async def test_own_delete_echo_gives_one_change_and_later_updates_are_ignored(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client)
    changes.clear()
    task = asyncio.create_task(store.delete(item.id))
    call = await client.next_call()
    client.broadcast_item_deleted(item.id)
    call.answer(None)
    await task
    client.broadcast_item(item.model_copy(update={"version": 9}))  # a late straggler
    assert store.get(item.id) is None
    assert [(c.kind, c.source) for c in changes] == [(ChangeKind.REMOVED, "local")]


async def test_broadcast_delete_removes_with_previous_copy(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    item = seed(client)
    client.broadcast_item_deleted(item.id)
    client.broadcast_item_deleted(item.id)
    assert store.get(item.id) is None
    assert changes[-1] == EntityChange(ChangeKind.REMOVED, item, None, "server")
    assert len(changes) == 2


async def test_server_delete_during_pending_update_wins(client: FakeClient, store: WorkItemStore) -> None:
    item = seed(client)
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="mine")))
    call = await client.next_call()
    client.broadcast_item_deleted(item.id)
    assert store.get(item.id) is None
    call.fail(ServerRejectedException("NOT_FOUND", "gone"))
    with pytest.raises(ServerRejectedException):
        await task
    assert store.get(item.id) is None


# -- create --------------------------------------------------------------------------------------


async def test_create_shows_a_placeholder_replaced_in_one_change_by_the_broadcast(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    request = CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.EPIC, title="epic")
    task = asyncio.create_task(store.create(request))
    call = await client.next_call()
    [placeholder] = store.get_by_project(PROJECT)
    assert placeholder.title == "epic"
    assert placeholder.version == 0
    assert store.is_pending(placeholder.id)

    real = make_item(project_id=PROJECT, item_type=WorkItemType.EPIC, title="epic")
    client.broadcast_item(real, created=True)
    assert store.get_by_project(PROJECT) == [real]
    call.answer(real)
    assert await task == real
    assert store.get_by_project(PROJECT) == [real]
    assert not store.is_pending(placeholder.id)
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.ADDED, "local"),
        (ChangeKind.UPDATED, "server"),
    ]
    assert changes[1].previous == placeholder
    assert changes[1].current == real


async def test_a_broadcast_of_the_trimmed_title_pm_server_stores_still_replaces_the_placeholder(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    request = CreateWorkItemRequest(
        project_id=PROJECT, item_type=WorkItemType.TASK, title="  Fix login ", description=" Steps\n"
    )
    task = asyncio.create_task(store.create(request))
    call = await client.next_call()
    real = make_item(project_id=PROJECT, title="Fix login", description="Steps")
    client.broadcast_item(real, created=True)
    assert store.get_by_project(PROJECT) == [real]  # one entry at once, not the placeholder beside it
    call.answer(real)
    assert await task == real
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.ADDED, "local"),
        (ChangeKind.UPDATED, "server"),
    ]


async def test_create_answered_without_broadcast_replaces_the_placeholder(
    client: FakeClient, store: WorkItemStore
) -> None:
    task = asyncio.create_task(
        store.create(CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t"))
    )
    call = await client.next_call()
    real = make_item(project_id=PROJECT, title="t")
    call.answer(real)
    await task
    assert store.get_by_project(PROJECT) == [real]


async def test_unmatched_broadcast_then_answer_leaves_one_copy(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    task = asyncio.create_task(
        store.create(CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t"))
    )
    call = await client.next_call()
    real = make_item(project_id=PROJECT, title="T")  # the server normalised something: no match
    client.broadcast_item(real, created=True)
    call.answer(real)
    await task
    assert store.get_by_project(PROJECT) == [real]
    assert changes[-1].kind is ChangeKind.REMOVED
    assert changes[-1].previous.version == 0


async def test_failed_create_removes_the_placeholder(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    task = asyncio.create_task(
        store.create(CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t"))
    )
    call = await client.next_call()
    call.fail(ConnectionException())
    with pytest.raises(ConnectionException):
        await task
    assert store.get_by_project(PROJECT) == []
    assert [(c.kind, c.source) for c in changes] == [
        (ChangeKind.ADDED, "local"),
        (ChangeKind.REMOVED, "rollback"),
    ]


async def test_create_whose_answer_was_lost_keeps_the_broadcast_item(
    client: FakeClient, store: WorkItemStore
) -> None:
    task = asyncio.create_task(
        store.create(CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t"))
    )
    call = await client.next_call()
    real = make_item(project_id=PROJECT, title="t")
    client.broadcast_item(real, created=True)
    call.fail(ConnectionException())
    with pytest.raises(ConnectionException):
        await task
    assert store.get_by_project(PROJECT) == [real]  # the server has it: nothing to roll back


# -- queries -------------------------------------------------------------------------------------


async def test_queries_order_by_position_and_hide_deleted(client: FakeClient, store: WorkItemStore) -> None:
    sprint = uuid4()
    epic = seed(client, item_type=WorkItemType.EPIC, position=1)
    s2 = seed(client, item_type=WorkItemType.STORY, parent_id=epic.id, position=2, sprint_id=sprint)
    s0 = seed(client, item_type=WorkItemType.STORY, parent_id=epic.id, position=0, sprint_id=sprint)
    gone = seed(client, item_type=WorkItemType.STORY, parent_id=epic.id, position=1, sprint_id=sprint)
    other = make_item(position=0)
    client.broadcast_item(other, created=True)
    client.broadcast_item_deleted(gone.id)

    assert store.get_by_project(PROJECT) == [s0, epic, s2]
    assert store.get_children(epic.id) == [s0, s2]
    assert store.get_by_sprint(sprint) == [s0, s2]
    assert store.get(gone.id) is None
    assert store.get_by_project(other.project_id) == [other]


# -- resync and load -----------------------------------------------------------------------------


async def test_snapshot_reports_added_changed_and_removed_with_source_resync(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    kept = seed(client)
    changed = seed(client, title="before")
    removed = seed(client)
    elsewhere = make_item()
    client.broadcast_item(elsewhere, created=True)
    changes.clear()
    client.set_state(ConnectionState.RECONNECTING)
    client.set_state(ConnectionState.CONNECTED)

    added = make_item(project_id=PROJECT)
    changed2 = changed.model_copy(update={"title": "after", "version": 2})
    snapshot = ProjectSnapshot(project_id=PROJECT, work_items=(kept, changed2, added), as_of=NOW)
    result = store.apply_snapshot(snapshot)

    assert {(c.kind, (c.current or c.previous).id) for c in result} == {
        (ChangeKind.UPDATED, changed.id),
        (ChangeKind.ADDED, added.id),
        (ChangeKind.REMOVED, removed.id),
    }
    assert all(c.source == "resync" for c in result)
    assert result == changes
    assert {i.id for i in store.get_by_project(PROJECT)} == {kept.id, changed.id, added.id}
    assert store.get(elsewhere.id) == elsewhere  # another project is untouched


async def test_news_since_the_connection_opened_is_not_removed_by_an_older_snapshot(
    client: FakeClient, store: WorkItemStore
) -> None:
    old = seed(client)
    client.set_state(ConnectionState.RECONNECTING)
    client.set_state(ConnectionState.CONNECTED)
    fresh = seed(client)  # broadcast after resubscribe, before the list arrived
    store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, work_items=(), as_of=NOW))
    assert store.get(old.id) is None
    assert store.get(fresh.id) == fresh


async def test_snapshot_older_than_a_broadcast_does_not_downgrade(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client)
    v2 = item.model_copy(update={"version": 2, "title": "two"})
    client.broadcast_item(v2)
    store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, work_items=(item,), as_of=NOW))
    assert store.get(item.id) == v2


async def test_attached_resync_source_drives_apply_snapshot_until_closed(
    client: FakeClient, store: WorkItemStore
) -> None:
    class Source:
        def __init__(self) -> None:
            from projectmanagement_services.events import Event

            self.on_resynced: Event[ProjectSnapshot] = Event("on_resynced")

    source = Source()
    store.attach_resync(source)
    first = make_item(project_id=PROJECT)
    source.on_resynced.emit(ProjectSnapshot(project_id=PROJECT, work_items=(first,), as_of=NOW))
    assert store.get(first.id) == first

    store.close()
    source.on_resynced.emit(ProjectSnapshot(project_id=PROJECT, work_items=(), as_of=NOW))
    client.broadcast_item(make_item(project_id=PROJECT), created=True)
    assert store.get_by_project(PROJECT) == [first]
    assert len(source.on_resynced) == 0


async def test_load_project_replaces_and_returns_the_list(client: FakeClient, store: WorkItemStore) -> None:
    stale = seed(client)
    task = asyncio.create_task(store.load_project(PROJECT))
    call = await client.next_call()
    assert call.argument == PROJECT
    fresh_during_fetch = seed(client)
    listed = make_item(project_id=PROJECT, position=0)
    call.answer([listed])
    result = await task
    assert store.get(stale.id) is None
    assert {i.id for i in result} == {listed.id, fresh_during_fetch.id}


async def test_pending_write_survives_a_same_version_snapshot(
    client: FakeClient, store: WorkItemStore
) -> None:
    item = seed(client, title="old")
    task = asyncio.create_task(store.update(UpdateWorkItemRequest(work_item_id=item.id, title="new")))
    call = await client.next_call()
    store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, work_items=(item,), as_of=NOW))
    assert store.get(item.id).title == "new"
    call.fail(ConnectionException())
    with pytest.raises(ConnectionException):
        await task
    assert store.get(item.id) == item


async def test_snapshot_refreshes_derived_fields_of_the_same_version(
    client: FakeClient, store: WorkItemStore, changes: list[EntityChange[WorkItem]]
) -> None:
    epic = seed(client, item_type=WorkItemType.EPIC)
    child = uuid4()
    refreshed = epic.model_copy(update={"descendant_ids": (child,)})
    client.broadcast_item(refreshed)  # a broadcast of the same version is a duplicate
    assert store.get(epic.id) == epic
    store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, work_items=(refreshed,), as_of=NOW))
    assert store.get(epic.id) == refreshed
    assert changes[-1] == EntityChange(ChangeKind.UPDATED, epic, refreshed, "resync")
