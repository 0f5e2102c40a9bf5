"""Property: whatever two peers do (writes, races, outages, changes while one is away), once the
connections are quiet both stores equal the server.

Hypothesis drives a RuleBasedStateMachine; each machine owns an event loop, runs a PmTestServer and
two real peers on it, and runs every step to completion under a timeout. "Quiet" means a ping round
trip on each connection after the step: the server writes a connection's frames in order, so by
the pong every broadcast of the step has been applied.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from projectmanagement_core.exceptions import ServerRejectedException
from projectmanagement_core.models import (
    CreateSprintRequest,
    CreateWorkItemRequest,
    Sprint,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)
from projectmanagement_services.testing import PmTestServer
from tests.services.state.harness import Peer, open_peer, server_items, server_sprints, start_project

T = TypeVar("T")
STEP_TIMEOUT = 10.0
#: Within pm-server's sprint range (a year back .. five years ahead of now), so relative to now.
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
#: Kept by broadcasts only for the item that changed; a full list (resync) refreshes them.
DERIVED = {"ancestor_ids", "descendant_ids"}

peer_index = st.integers(min_value=0, max_value=1)
pick = st.integers(min_value=0, max_value=63)
titles = st.text(alphabet="abcxyz ", min_size=1, max_size=12).filter(lambda t: t.strip() == t and t != "")
statuses = st.sampled_from(["backlog", "todo", "in_progress", "done", None])
operations = st.lists(st.tuples(st.sampled_from(["create", "update", "delete"]), pick, titles), max_size=4)


def _tolerate(exc: ServerRejectedException, codes: set[str]) -> None:
    """Refusals the race allows (the write was rolled back); anything else fails the example."""
    if exc.code not in codes:
        raise exc


def _without_derived(items: dict[UUID, WorkItem]) -> dict[UUID, dict[str, Any]]:
    return {i: item.model_dump(exclude=DERIVED) for i, item in items.items()}


class StoresConverge(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.server: PmTestServer | None = None
        self.peers: list[Peer] = []
        try:
            self.run(self._start())
        except BaseException:
            self.run(self._stop())
            self.loop.close()
            raise

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(STEP_TIMEOUT):
                return await coro

        return self.loop.run_until_complete(bounded())

    async def _start(self) -> None:
        self.server = PmTestServer()
        await self.server.start()
        # One plain client and one resilient one: the stores must converge over either.
        self.peers = [await open_peer(self.server), await open_peer(self.server, resilient=True)]
        self.project = await start_project(self.server, *self.peers)

    async def _stop(self) -> None:
        for peer in self.peers:
            await peer.aclose()
        if self.server is not None:
            await self.server.stop()

    def teardown(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.close()

    # -- writes ------------------------------------------------------------------------------
    async def _write(self, peer: Peer, op: str, index: int, title: str) -> None:
        """One write; refusals the race allows (conflict, gone, has children) are fine: rolled back."""
        items = peer.items.get_by_project(self.project)
        target = items[index % len(items)] if items else None
        try:
            if op == "create" or target is None:
                epics = [i for i in items if i.item_type is WorkItemType.EPIC]
                parent = epics[index % len(epics)] if epics and index % 2 else None
                kind = WorkItemType.EPIC if parent is None else WorkItemType.STORY
                await peer.items.create(
                    CreateWorkItemRequest(
                        project_id=self.project,
                        item_type=kind,
                        title=title,
                        parent_id=None if parent is None else parent.id,
                    )
                )
            elif op == "update":
                await peer.items.update(UpdateWorkItemRequest(work_item_id=target.id, title=title))
            else:
                await peer.items.delete(target.id)
        except ServerRejectedException as exc:  # VersionConflictException included
            _tolerate(exc, {"CONFLICT", "NOT_FOUND", "DELETE_BLOCKED"})

    @rule(who=peer_index, index=pick, title=titles)
    def create(self, who: int, index: int, title: str) -> None:
        self.run(self._write(self.peers[who], "create", index, title))

    @rule(who=peer_index, index=pick, title=titles, status=statuses)
    def update(self, who: int, index: int, title: str, status: str | None) -> None:
        peer = self.peers[who]
        items = peer.items.get_by_project(self.project)
        if not items:
            return
        item = items[index % len(items)]

        async def go() -> None:
            try:
                await peer.items.update(
                    UpdateWorkItemRequest(work_item_id=item.id, title=title, status=status)
                )
            except ServerRejectedException as exc:
                _tolerate(exc, {"CONFLICT", "NOT_FOUND"})

        self.run(go())

    @rule(who=peer_index, index=pick)
    def delete(self, who: int, index: int) -> None:
        self.run(self._write(self.peers[who], "delete", index, "unused"))

    @rule(who=peer_index, both=st.booleans())
    def racing_updates(self, who: int, both: bool) -> None:
        """Both peers update the same item at once: one wins, the other conflicts and rolls back."""
        items = self.peers[who].items.get_by_project(self.project)
        if not items:
            return
        target = items[0].id

        async def one(peer: Peer, title: str) -> None:
            try:
                await peer.items.update(UpdateWorkItemRequest(work_item_id=target, title=title))
            except ServerRejectedException as exc:
                _tolerate(exc, {"CONFLICT", "NOT_FOUND"})

        writers = self.peers if both else [self.peers[who], self.peers[who]]

        async def race() -> None:
            await asyncio.gather(*(one(p, f"race {n}") for n, p in enumerate(writers)))

        self.run(race())

    @rule(who=peer_index, name=titles, delete=st.booleans())
    def sprint(self, who: int, name: str, delete: bool) -> None:
        peer = self.peers[who]

        async def go() -> None:
            sprints = peer.sprints.get_by_project(self.project)
            if delete and sprints:
                try:
                    await peer.sprints.delete(sprints[0].id)
                except ServerRejectedException as exc:
                    _tolerate(exc, {"NOT_FOUND"})
                return
            await peer.sprints.create(
                CreateSprintRequest(
                    project_id=self.project, name=name, start_date=START, end_date=START + timedelta(days=7)
                )
            )

        self.run(go())

    # -- outages -----------------------------------------------------------------------------
    @rule()
    def reconnect_both(self) -> None:
        async def go() -> None:
            assert self.server is not None
            await self.server.faults.drop_all()
            for peer in self.peers:
                await peer.wait_reconnected()

        self.run(go())
        self._assert_equal_to_server(exact_for=self.peers)

    @rule(away=peer_index, changes=operations)
    def changes_while_one_is_away(self, away: int, changes: list[tuple[str, int, str]]) -> None:
        absent, present = self.peers[away], self.peers[1 - away]

        async def go() -> None:
            assert self.server is not None
            absent.gate.close()
            await self.server.faults.drop_all()
            await present.wait_reconnected()
            for op, index, title in changes:
                await self._write(present, op, index, title)
            absent.gate.open()
            await absent.wait_reconnected()

        self.run(go())
        # The present peer resynced before its own changes, so only the absent one is exact.
        self._assert_equal_to_server(exact_for=[absent])

    # -- the property ------------------------------------------------------------------------
    def _assert_equal_to_server(self, *, exact_for: list[Peer]) -> None:
        """Equal to the server; exactly (derived fields too) for peers that resynced after the last write."""

        async def settle() -> None:
            for peer in self.peers:
                await peer.settle()

        self.run(settle())
        assert self.server is not None
        expected_items = server_items(self.server, self.project)
        expected_sprints: dict[UUID, Sprint] = server_sprints(self.server, self.project)
        for peer in self.peers:
            items = {i.id: i for i in peer.items.get_by_project(self.project)}
            if peer in exact_for:
                assert items == expected_items
            else:
                assert _without_derived(items) == _without_derived(expected_items)
            assert {s.id: s for s in peer.sprints.get_by_project(self.project)} == expected_sprints
            assert not any(peer.items.is_pending(i) for i in items)

    @invariant()
    def both_stores_equal_the_server_once_quiet(self) -> None:
        self._assert_equal_to_server(exact_for=[])


StoresConverge.TestCase.settings = settings(
    max_examples=int(os.environ.get("STATE_EXAMPLES", "25")),
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoresConverge = StoresConverge.TestCase
