"""VersionedEntityMap on its own: the ordering rules without a store, and thread safety of reads."""

from __future__ import annotations

import asyncio
import threading
from uuid import uuid4

import pytest

from projectmanagement_core.models import ChangeKind, EntityChange, WorkItem
from projectmanagement_services.state import KeyedLocks, VersionedEntityMap
from tests.services.state.fake_client import make_item


def test_a_write_cannot_be_ended_twice() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    item = make_item()
    entities.apply_server(item)
    write = entities.begin_update(item.model_copy(update={"title": "x"}))
    entities.rollback(write)
    with pytest.raises(RuntimeError):
        entities.confirm(write, item)


def test_deleted_entity_in_an_answer_tombstones() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    item = make_item()
    entities.apply_server(item)
    deleted = item.model_copy(update={"version": 2, "deleted_at": item.created_at})
    change = entities.apply_server(deleted)
    assert change == EntityChange(ChangeKind.REMOVED, item, None, "server")
    assert entities.is_deleted(item.id)
    assert entities.get(item.id) is None
    assert entities.select(lambda _: True) == []


def test_concurrent_appliers_and_readers_keep_the_newest_version() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test")
    base = make_item()
    versions = [base.model_copy(update={"version": v, "title": f"v{v}"}) for v in range(1, 401)]
    seen: list[int] = []
    entities.on_changed.subscribe(lambda c: seen.append(c.current.version))
    failures: list[BaseException] = []

    def apply(batch: list[WorkItem]) -> None:
        for item in batch:
            entities.apply_server(item)

    def read() -> None:
        try:
            for _ in range(2000):
                current = entities.get(base.id)
                if current is not None:
                    assert current.title == f"v{current.version}"  # never a torn mix
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=apply, args=(versions[i::4],)) for i in range(4)]
    threads.append(threading.Thread(target=read))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not failures
    assert entities.get(base.id) == versions[-1]
    assert seen == sorted(seen)  # every raised change moved strictly forward
    assert len(seen) == len(set(seen))


async def test_keyed_locks_serialise_one_key_and_clean_up() -> None:
    locks: KeyedLocks[object] = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()
    a, b = uuid4(), uuid4()

    async def hold(key: object, name: str, wait: bool) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            if wait:
                await release.wait()
            order.append(f"{name}-")

    first = asyncio.create_task(hold(a, "a1", True))
    second = asyncio.create_task(hold(a, "a2", False))
    other = asyncio.create_task(hold(b, "b", False))
    async with asyncio.timeout(2):
        await other  # a different key is not held up
        assert order == ["a1+", "b+", "b-"]
        assert locks.is_locked(a)
        release.set()
        await asyncio.gather(first, second)
    assert order == ["a1+", "b+", "b-", "a1-", "a2+", "a2-"]
    assert len(locks) == 0
