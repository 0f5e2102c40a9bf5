"""Landing in slices under real concurrency: another peer's changes arrive while a list lands.

The landing's pause is injected: at its first yield, Bob changes items that the list holds further
on (an update to a newer version, a deletion) and creates one, and the pause returns only once
Alice's client has received those broadcasts, so they really arrive mid-landing. Afterwards Alice's
store must equal the server's truth: nothing lost, nothing duplicated, the newer version kept, the
deleted item gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from uuid import UUID

import pytest

from projectmanagement_core.models import (
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemDeleted,
    WorkItemType,
)
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.state import WorkItemStore
from projectmanagement_services.testing import PmTestServer
from tests.services.state.harness import TIMEOUT, Peer, open_peer, server_items, start_project

ITEMS = 30


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer(rate_limit=None) as server:
        yield server


def task(project: UUID, title: str) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project, item_type=WorkItemType.TASK, title=title)


class MidLanding:
    """The slicer's pause: once armed, its first call runs Bob's changes and waits for their broadcasts."""

    def __init__(self, alice: Peer) -> None:
        self.alice = alice
        self.action: Callable[[], asyncio.Future[None]] | None = None
        self.yields = 0
        self.ran_at_yield: int | None = None

    def slicer(self) -> TimeSlicer:
        return TimeSlicer(0, batch=4, pause=self.pause)

    async def pause(self) -> None:
        self.yields += 1
        if self.action is not None and self.ran_at_yield is None:
            self.ran_at_yield = self.yields
            async with asyncio.timeout(TIMEOUT):
                await self.action()
        await asyncio.sleep(0)


def broadcasts_seen(alice: Peer, updated: int, deleted: int, created: int) -> asyncio.Future[None]:
    """Resolved once Alice's client has received that many broadcasts of each kind."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    counts = {"updated": 0, "deleted": 0, "created": 0}
    wanted = {"updated": updated, "deleted": deleted, "created": created}

    def seen(kind: str) -> Callable[[object], None]:
        def record(_: object) -> None:
            counts[kind] += 1
            if counts == wanted and not done.done():
                done.set_result(None)

        return record

    alice.client.on_work_item_updated.subscribe(seen("updated"))
    alice.client.on_work_item_deleted.subscribe(seen("deleted"))
    alice.client.on_work_item_created.subscribe(seen("created"))
    return done


async def seed(bob: Peer, project: UUID) -> list[WorkItem]:
    return [await bob.client.create_work_item(task(project, f"item {n}")) for n in range(ITEMS)]


def assert_equals_the_server(store: WorkItemStore, server: PmTestServer, project: UUID) -> None:
    listed = store.get_by_project(project)
    assert len(listed) == len({i.id for i in listed})  # nothing duplicated
    assert {i.id: i for i in listed} == server_items(server, project)  # nothing lost, all newest


async def test_a_load_that_lands_in_slices_keeps_news_that_arrived_meanwhile(server: PmTestServer) -> None:
    alice, bob = await open_peer(server), await open_peer(server)
    try:
        project = await start_project(server, alice, bob)
        seeded = await seed(bob, project)
        await alice.settle()
        later, doomed = seeded[-1], seeded[-2]  # last by position: the landing has not reached them
        mid = MidLanding(alice)
        store = WorkItemStore(alice.client, slicer=mid.slicer)
        results: dict[str, object] = {}

        async def bob_changes() -> None:
            seen = broadcasts_seen(alice, updated=1, deleted=1, created=1)
            results["updated"] = await bob.client.update_work_item(
                UpdateWorkItemRequest(work_item_id=later.id, expected_version=later.version, title="newer")
            )
            await bob.client.delete_work_item(doomed.id)
            results["created"] = await bob.client.create_work_item(task(project, "created meanwhile"))
            await seen

        mid.action = bob_changes
        async with asyncio.timeout(TIMEOUT):
            await store.load_project(project)

        assert mid.ran_at_yield == 1
        assert mid.yields >= ITEMS // 4
        assert store.get(later.id) == results["updated"]
        assert store.get(doomed.id) is None
        assert store.get(results["created"].id) == results["created"]  # type: ignore[attr-defined]
        assert_equals_the_server(store, server, project)
        store.close()
    finally:
        await alice.aclose()
        await bob.aclose()


async def test_a_resync_after_an_outage_lands_in_slices_with_broadcasts_arriving_mid_landing(
    server: PmTestServer,
) -> None:
    alice, bob = await open_peer(server), await open_peer(server)
    try:
        project = await start_project(server, alice, bob)
        seeded = await seed(bob, project)
        mid = MidLanding(alice)
        store = WorkItemStore(alice.client, slicer=mid.slicer)
        store.attach_resync(alice.reconnection)
        async with asyncio.timeout(TIMEOUT):
            await store.load_project(project)
        assert mid.yields > 0

        alice.gate.close()  # alice stays away until the test lets her back
        await server.faults.drop_all()
        await bob.wait_reconnected()
        away_deleted, away_updated = seeded[0], seeded[1]
        await bob.client.delete_work_item(away_deleted.id)
        updated_away = await bob.client.update_work_item(
            UpdateWorkItemRequest(work_item_id=away_updated.id, expected_version=1, title="while away")
        )
        later, doomed = seeded[-1], seeded[-2]
        results: dict[str, object] = {}
        deletions: list[WorkItemDeleted] = []
        alice.client.on_work_item_deleted.subscribe(deletions.append)

        async def bob_changes() -> None:
            seen = broadcasts_seen(alice, updated=1, deleted=1, created=1)
            results["updated"] = await bob.client.update_work_item(
                UpdateWorkItemRequest(work_item_id=later.id, expected_version=later.version, title="newer")
            )
            await bob.client.delete_work_item(doomed.id)
            results["created"] = await bob.client.create_work_item(task(project, "created meanwhile"))
            await seen

        mid.yields, mid.action = 0, bob_changes
        alice.gate.open()
        result = await alice.wait_reconnected()

        assert result.resynced_projects == (project,)
        assert mid.ran_at_yield == 1  # bob's changes arrived while the resync was landing
        assert [d.work_item_id for d in deletions] == [doomed.id]
        assert store.get(away_deleted.id) is None
        assert store.get(doomed.id) is None
        assert store.get(away_updated.id) == updated_away
        assert store.get(later.id) == results["updated"]
        assert store.get(results["created"].id) == results["created"]  # type: ignore[attr-defined]
        assert_equals_the_server(store, server, project)
        assert_equals_the_server(alice.items, server, project)  # the harness's store, landed at once
        store.close()
    finally:
        await alice.aclose()
        await bob.aclose()
