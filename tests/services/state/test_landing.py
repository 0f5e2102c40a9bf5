"""A full list landed in batches: the same result as at once, broadcasts held until it has landed."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.models import ChangeKind, EntityChange, WorkItem
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.state import VersionedEntityMap
from projectmanagement_services.state.landing import land
from tests.services.state.fake_client import make_item

PROJECT = uuid4()


def items(count: int) -> list[WorkItem]:
    return [make_item(project_id=PROJECT, position=index, title=f"item {index}") for index in range(count)]


def newer(item: WorkItem, title: str = "newer") -> WorkItem:
    return item.model_copy(update={"version": item.version + 1, "title": title})


def slicer(pause: Callable[[], Awaitable[None]]) -> TimeSlicer:
    """Yields after every batch of 3, through ``pause``: the test decides what happens in between."""
    return TimeSlicer(0, batch=3, pause=pause)


class AtYield:
    """A pause that runs ``actions[n]`` at the n-th yield, then gives the loop one iteration."""

    def __init__(self, *actions: Callable[[], object]) -> None:
        self.actions = list(actions)
        self.count = 0

    async def __call__(self) -> None:
        if self.count < len(self.actions):
            self.actions[self.count]()
        self.count += 1
        await asyncio.sleep(0)


def holding(listed: list[WorkItem], extra: list[WorkItem]) -> VersionedEntityMap[WorkItem]:
    """A map holding ``listed`` (an older copy of each odd one) and ``extra``, before a new connection."""
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    for index, item in enumerate(listed):
        entities.apply_server(item.model_copy(update={"version": 0}) if index % 2 else item)
    for item in extra:
        entities.apply_server(item)
    return entities


async def test_a_list_landed_in_batches_gives_the_changes_and_state_of_landing_it_at_once() -> None:
    listed, gone = items(10), items(2)
    at_once, sliced = holding(listed, gone), holding(listed, gone)
    pause = AtYield()

    expected = at_once.replace_project(PROJECT, listed, fresh_since=at_once.mark(), source="resync")
    changes = await land(
        sliced, PROJECT, listed, fresh_since=sliced.mark(), source="resync", slicer=slicer(pause)
    )

    assert pause.count == 6  # after each of the 4 batches (10 items by 3), before and after the final scan
    assert changes == expected
    assert len([c for c in changes if c.kind is ChangeKind.REMOVED]) == 2  # what the list lacked
    assert sorted(sliced.select(lambda _: True), key=lambda i: i.position) == listed
    assert all(sliced.is_deleted(item.id) for item in gone)


async def test_broadcasts_mid_landing_are_held_then_applied_in_order_so_newer_news_wins() -> None:
    listed = items(9)
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    seen: list[EntityChange[WorkItem]] = []
    entities.on_changed.subscribe(seen.append)
    landed_already, not_yet, deleted_later = listed[0], listed[7], listed[8]
    created = make_item(project_id=PROJECT, position=99, title="created meanwhile")
    held: list[object] = []

    def broadcasts() -> None:
        held.append(entities.apply_broadcast(newer(landed_already)))
        held.append(entities.apply_broadcast(newer(not_yet)))
        held.append(entities.apply_broadcast_deletion(deleted_later.id))
        held.append(entities.apply_broadcast(created))
        # Held: nothing of it shows before the list has landed.
        assert entities.get(landed_already.id) == landed_already
        assert entities.get(created.id) is None

    await land(entities, PROJECT, listed, fresh_since=0, source="resync", slicer=slicer(AtYield(broadcasts)))

    assert held == [None, None, None, None]
    assert entities.get(landed_already.id) == newer(landed_already)
    assert entities.get(not_yet.id) == newer(not_yet)  # the list's older copy landed first, then the news
    assert entities.get(deleted_later.id) is None  # the list re-added it; the held deletion removed it
    assert entities.is_deleted(deleted_later.id)
    assert entities.get(created.id) == created  # not in the list, yet not removed as absent
    visible = entities.select(lambda _: True)
    assert len(visible) == len({i.id for i in visible}) == 9  # 9 listed - 1 deleted + 1 created
    per_id = Counter((c.kind, (c.current or c.previous).id) for c in seen)  # type: ignore[union-attr]
    assert max(per_id.values()) == 1  # nothing applied twice
    updates = [c for c in seen if c.kind is ChangeKind.UPDATED]
    assert [(c.previous, c.current) for c in updates] == [
        (landed_already, newer(landed_already)),
        (not_yet, newer(not_yet)),
    ]


async def test_an_answer_mid_landing_applies_at_once_and_the_lists_older_copy_does_not_undo_it() -> None:
    listed = items(9)
    target = listed[8]
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    entities.apply_server(target)
    write = entities.begin_update(target.model_copy(update={"title": "mine"}))
    answer = newer(target, "mine")

    def confirm() -> None:
        entities.confirm(write, answer)
        assert entities.get(target.id) == answer

    await land(entities, PROJECT, listed, fresh_since=0, source="resync", slicer=slicer(AtYield(confirm)))

    assert entities.get(target.id) == answer
    assert not entities.is_pending(target.id)


async def test_a_cancelled_landing_removes_nothing_and_releases_the_held_broadcasts() -> None:
    listed, kept = items(9), items(1)[0]
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    entities.apply_server(kept)  # not in the list: a finished landing would remove it
    update = newer(listed[0])

    def cancel() -> None:
        raise asyncio.CancelledError

    pause = AtYield(lambda: entities.apply_broadcast(update), cancel)
    with pytest.raises(asyncio.CancelledError):
        await land(entities, PROJECT, listed, fresh_since=0, source="resync", slicer=slicer(pause))

    assert entities.get(kept.id) == kept
    assert entities.get(update.id) == update  # released when the landing was abandoned
    assert entities.get(listed[8].id) is None  # never reached
    late = make_item(project_id=PROJECT)
    assert entities.apply_broadcast(late) is not None  # no landing under way: applied at once


async def test_broadcasts_wait_for_the_last_of_two_overlapping_landings() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    first = entities.begin_landing(PROJECT, fresh_since=0, source="resync")
    second = entities.begin_landing(uuid4(), fresh_since=0, source="resync")
    news = make_item(project_id=PROJECT)
    entities.apply_broadcast(news)
    first.finish()
    assert entities.get(news.id) is None
    second.finish()
    assert entities.get(news.id) == news
    with pytest.raises(RuntimeError):
        second.abandon()


def test_replace_project_at_once_is_unchanged_for_callers() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    listed = items(4)
    changes = entities.replace_project(PROJECT, listed, fresh_since=0, source="server")
    assert [c.kind for c in changes] == [ChangeKind.ADDED] * 4
    ids: set[UUID] = {i.id for i in entities.select(lambda _: True)}
    assert ids == {i.id for i in listed}


def test_a_list_that_fails_to_land_at_once_does_not_leave_broadcasts_held() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")

    def broken_list() -> Iterator[WorkItem]:
        yield make_item(project_id=PROJECT)
        raise ValueError("a list that breaks while it is read")

    with pytest.raises(ValueError, match="breaks"):
        entities.replace_project(PROJECT, broken_list(), fresh_since=0, source="resync")
    news = make_item(project_id=PROJECT)
    assert entities.apply_broadcast(news) is not None
    assert entities.get(news.id) == news
