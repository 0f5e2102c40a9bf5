"""Bounded memory: what a deleted id costs, and every rule by which a deletion may be forgotten.

A store must not grow with the number of deletions it has seen (the chaos soak found a full
WorkItem kept per deleted id), yet a deletion must stay final: no rule below may let a late list
or answer bring a deleted item back.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.models import (
    ConnectionState,
    CreateWorkItemRequest,
    ProjectSnapshot,
    WorkItem,
    WorkItemType,
)
from projectmanagement_services.state import VersionedEntityMap, WorkItemStore
from tests.services.state.fake_client import FakeClient, make_item

PROJECT = UUID("11111111-1111-4111-8111-111111111111")
OTHER = UUID("22222222-2222-4222-8222-222222222222")
NOW = datetime(2025, 6, 1, tzinfo=UTC)
CYCLES = 20_000


def new_map() -> VersionedEntityMap[WorkItem]:
    return VersionedEntityMap("test")


def live_work_items() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is WorkItem)


def live_objects() -> int:
    """Objects the collector tracks: a remembered deletion adds at least two (its UUID, its record)."""
    gc.collect()
    return len(gc.get_objects())


def deleted(entities: VersionedEntityMap[WorkItem], project_id: UUID = PROJECT) -> WorkItem:
    """An item the map held and then saw deleted by a broadcast."""
    item = make_item(project_id=project_id)
    entities.apply_server(item)
    entities.apply_server_deletion(item.id)
    return item


# -- what a deletion costs -------------------------------------------------------------------------


def test_a_remembered_deletion_keeps_no_entity_alive() -> None:
    entities = new_map()
    before = live_work_items()
    for _ in range(CYCLES):  # nothing forgets here: every deletion stays remembered
        deleted(entities)
    assert entities.remembered_deletions == CYCLES
    assert entities.select(lambda _: True) == []
    # Before the fix every tombstone held the last full WorkItem: CYCLES more objects.
    assert live_work_items() - before <= 2


async def test_store_memory_stays_flat_over_20000_deletes_with_reconnects() -> None:
    """Through a store, as the chaos soak's subscriber: broadcasts, and a reconnect now and then."""
    client = FakeClient()
    store = WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]
    keep = [make_item(project_id=PROJECT) for _ in range(10)]
    for item in keep:
        client.broadcast_item(item, created=True)

    def cycle(count: int) -> None:
        for n in range(count):
            item = make_item(project_id=PROJECT)
            client.broadcast_item(item, created=True)
            client.broadcast_item(item.model_copy(update={"version": 2, "title": "changed"}))
            client.broadcast_item_deleted(item.id)
            if n % 1_000 == 999:
                client.set_state(ConnectionState.RECONNECTING)
                client.set_state(ConnectionState.CONNECTED)

    cycle(2_000)  # warm-up: dictionaries reach their working size
    items_warm, objects_warm = live_work_items(), live_objects()
    cycle(CYCLES - 2_000)
    growth = live_objects() - objects_warm
    # 18,000 deletions remembered as ids alone would be 36,000+ objects; as full items, more.
    assert growth < 500, f"{growth:,} objects retained over {CYCLES - 2_000:,} deletes"
    assert live_work_items() <= items_warm
    assert {i.id for i in store.get_by_project(PROJECT)} == {i.id for i in keep}


async def test_store_memory_stays_flat_with_loads_on_one_connection() -> None:
    """No reconnect at all: the project's reloads are what let deletions go."""
    client = FakeClient()
    store = WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]

    async def reload() -> None:
        task = asyncio.create_task(store.load_project(PROJECT))
        call = await client.next_call()
        call.answer([])
        async with asyncio.timeout(2):
            await task

    async def cycle(count: int) -> None:
        for n in range(count):
            item = make_item(project_id=PROJECT)
            client.broadcast_item(item, created=True)
            client.broadcast_item_deleted(item.id)
            if n % 1_000 == 999:
                await reload()

    await cycle(2_000)
    objects_warm = live_objects()
    await cycle(CYCLES - 2_000)
    growth = live_objects() - objects_warm
    assert growth < 500, f"{growth:,} objects retained over {CYCLES - 2_000:,} deletes"
    assert store.get_by_project(PROJECT) == []


# -- forgetting through a full list (replace_project) -----------------------------------------------


def test_a_list_forgets_its_projects_deletions_learned_before_it_was_requested() -> None:
    entities = new_map()
    before_list = deleted(entities)
    other_project = deleted(entities, OTHER)
    never_held = uuid4()
    entities.apply_server_deletion(never_held)  # project unknown
    fresh_since = entities.mark()
    after_request = deleted(entities)  # learned while the list was on its way

    entities.replace_project(PROJECT, [], fresh_since=fresh_since, source="resync")

    assert not entities.is_deleted(before_list.id)
    assert entities.is_deleted(after_request.id)  # the list may predate it
    assert entities.is_deleted(other_project.id)  # another project's list says nothing of it
    assert entities.is_deleted(never_held)  # unknown project: only a new connection forgets it
    assert entities.remembered_deletions == 3


def test_a_list_that_still_shows_a_deleted_id_does_not_forget_it() -> None:
    entities = new_map()
    item = deleted(entities)
    entities.replace_project(PROJECT, [item], fresh_since=entities.mark(), source="resync")
    assert entities.is_deleted(item.id)
    assert entities.get(item.id) is None


def test_an_older_list_applied_late_resurrects_nothing_and_adds_nothing() -> None:
    entities = new_map()
    held = make_item(project_id=PROJECT)
    entities.apply_server(held)
    old_mark = entities.mark()
    # The old list was computed here: `gone` alive, `held` at version 1.
    gone = make_item(project_id=PROJECT)
    entities.apply_server(gone)
    entities.apply_server_deletion(gone.id)
    entities.replace_project(PROJECT, [held], fresh_since=entities.mark(), source="server")
    assert not entities.is_deleted(gone.id)  # forgotten by the newer list

    held_v2 = held.model_copy(update={"version": 2, "title": "newer"})
    unknown = make_item(project_id=PROJECT)
    changes = entities.replace_project(
        PROJECT, [held_v2, gone, unknown], fresh_since=old_mark, source="resync"
    )

    assert entities.get(gone.id) is None  # the forgotten deletion still holds
    assert entities.get(unknown.id) is None  # an older list adds nothing
    assert entities.get(held.id) == held_v2  # but still updates what the map holds
    assert [c.current for c in changes] == [held_v2]


def test_a_list_not_older_than_the_forgotten_mark_adds_as_usual() -> None:
    entities = new_map()
    deleted(entities)
    entities.replace_project(PROJECT, [], fresh_since=entities.mark(), source="server")
    added = make_item(project_id=PROJECT)
    entities.replace_project(PROJECT, [added], fresh_since=entities.mark(), source="resync")
    assert entities.get(added.id) == added
    # The forgotten mark is per project: an old list of another project is not held back.
    elsewhere = make_item(project_id=OTHER)
    entities.replace_project(OTHER, [elsewhere], fresh_since=0, source="server")
    assert entities.get(elsewhere.id) == elsewhere


# -- forgetting at a new connection (forget_deletions) ----------------------------------------------


def test_forget_deletions_forgets_up_to_the_mark_whatever_the_project() -> None:
    entities = new_map()
    first = deleted(entities)
    never_held = uuid4()
    entities.apply_server_deletion(never_held)
    through = entities.mark()
    later = deleted(entities, OTHER)

    assert entities.forget_deletions(through) == 2
    assert not entities.is_deleted(first.id)
    assert not entities.is_deleted(never_held)
    assert entities.is_deleted(later.id)
    assert entities.get(first.id) is None  # forgetting shows nothing again


async def test_a_new_connection_forgets_earlier_deletions_and_the_resync_keeps_them_deleted() -> None:
    client = FakeClient()
    store = WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]
    kept = make_item(project_id=PROJECT)
    gone = make_item(project_id=PROJECT)
    for item in (kept, gone):
        client.broadcast_item(item, created=True)
    client.broadcast_item_deleted(gone.id)
    entities = store._entities  # the map is private to the store; its count is what we measure
    assert entities.remembered_deletions == 1

    client.set_state(ConnectionState.RECONNECTING)
    assert entities.remembered_deletions == 1  # only a new connection lets go
    client.set_state(ConnectionState.CONNECTED)
    assert entities.remembered_deletions == 0

    # The resync over the new connection was computed after the delete: it lacks `gone`.
    store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, work_items=(kept,), as_of=NOW))
    assert store.get_by_project(PROJECT) == [kept]


# -- requests still open hold later deletions --------------------------------------------------------


def test_an_open_write_holds_deletions_learned_after_it_began() -> None:
    """A create re-sent after a lost answer is answered with the original item, even if deleted since."""
    entities = new_map()
    placeholder = make_item(project_id=PROJECT, version=0)
    write = entities.begin_create(placeholder, lambda _: False)
    created = make_item(project_id=PROJECT)
    entities.apply_server(created)  # the create's broadcast (not matched: the answer was lost)
    entities.apply_server_deletion(created.id)  # another client deleted it

    assert entities.forget_deletions(entities.mark()) == 0
    entities.replace_project(PROJECT, [], fresh_since=entities.mark(), source="resync")
    assert entities.is_deleted(created.id)

    entities.confirm(write, created)  # the replayed answer
    assert entities.get(created.id) is None
    assert entities.select(lambda _: True) == []
    assert entities.forget_deletions(entities.mark()) == 1  # once nothing is open


def test_an_open_list_fetch_holds_deletions_learned_during_it() -> None:
    entities = new_map()
    earlier = deleted(entities)
    item = make_item(project_id=PROJECT)
    entities.apply_server(item)
    with entities.fetching() as mark:
        # The list is computed now, with `item` alive; its delete arrives before the answer.
        entities.apply_server_deletion(item.id)
        assert entities.forget_deletions(entities.mark()) == 1  # `earlier` only
        assert entities.is_deleted(item.id)
    entities.replace_project(PROJECT, [item], fresh_since=mark, source="server")
    assert entities.get(item.id) is None
    assert not entities.is_deleted(earlier.id)
    assert entities.forget_deletions(entities.mark()) == 1


async def test_load_project_holds_deletions_while_its_list_is_on_the_way() -> None:
    client = FakeClient()
    store = WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]
    item = make_item(project_id=PROJECT)
    client.broadcast_item(item, created=True)
    task = asyncio.create_task(store.load_project(PROJECT))
    call = await client.next_call()
    client.broadcast_item_deleted(item.id)
    client.set_state(ConnectionState.RECONNECTING)
    client.set_state(ConnectionState.CONNECTED)  # would forget it, but the load is still open
    call.answer([item])  # computed before the delete
    async with asyncio.timeout(2):
        assert await task == []
    assert store.get(item.id) is None


@pytest.mark.parametrize("failure", [True, False])
async def test_a_finished_create_releases_its_hold(failure: bool) -> None:
    client = FakeClient()
    store = WorkItemStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]
    entities = store._entities
    task = asyncio.create_task(
        store.create(CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t"))
    )
    call = await client.next_call()
    gone = make_item(project_id=PROJECT)
    client.broadcast_item(gone, created=True)
    client.broadcast_item_deleted(gone.id)
    assert entities.forget_deletions(entities.mark()) == 0
    if failure:
        call.fail(ConnectionError("lost"))
    else:
        call.answer(make_item(project_id=PROJECT, title="t"))
    async with asyncio.timeout(2):
        await asyncio.gather(task, return_exceptions=True)
    assert entities.forget_deletions(entities.mark()) == 1
