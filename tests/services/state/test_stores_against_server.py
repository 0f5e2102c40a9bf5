"""The stores over real WebSocketClients against PmTestServer: two peers, one truth."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import ServerRejectedException, VersionConflictException
from projectmanagement_core.models import (
    ChangeKind,
    CreateSprintRequest,
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.testing import PmTestServer
from tests.services.state.harness import Peer, open_peer, server_items, server_sprints, start_project

#: Within pm-server's sprint range (a year back .. five years ahead of now), so relative to now.
START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer() as server:
        yield server


@pytest.fixture(params=["plain", "resilient"])
async def peers(
    server: PmTestServer, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Peer, Peer, UUID]]:
    """Alice and Bob share a project; their stores sit over plain or resilient clients."""
    resilient = request.param == "resilient"
    alice = await open_peer(server, resilient=resilient)
    bob = await open_peer(server, resilient=resilient)
    try:
        project = await start_project(server, alice, bob)
        yield alice, bob, project
    finally:
        await alice.aclose()
        await bob.aclose()


def task(project: UUID, title: str, **fields: object) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project, item_type=WorkItemType.TASK, title=title, **fields)


async def test_a_change_by_one_peer_shows_up_in_the_other_peers_store(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, bob, project = peers
    created = await alice.items.create(task(project, "write tests"))
    await bob.settle()
    assert bob.items.get(created.id) == created

    updated = await alice.items.update(UpdateWorkItemRequest(work_item_id=created.id, status="in_progress"))
    await bob.settle()
    assert bob.items.get(created.id) == updated
    assert updated.version == 2

    sprint = await bob.sprints.create(
        CreateSprintRequest(
            project_id=project, name="S1", start_date=START, end_date=START + timedelta(days=14)
        )
    )
    await alice.settle()
    assert alice.sprints.get_by_project(project) == [sprint]

    await bob.items.delete(created.id)
    await alice.settle()
    assert alice.items.get(created.id) is None
    assert alice.items.get_by_project(project) == bob.items.get_by_project(project) == []
    assert server_items(server, project) == {}
    assert server_sprints(server, project) == {sprint.id: sprint}


async def test_own_change_echo_is_applied_once(server: PmTestServer, peers: tuple[Peer, Peer, UUID]) -> None:
    alice, bob, project = peers
    created = await alice.items.create(task(project, "echo"))
    await alice.settle()
    await bob.settle()
    alice.item_changes.clear()
    bob.item_changes.clear()
    server.counters.reset()

    updated = await alice.items.update(UpdateWorkItemRequest(work_item_id=created.id, title="echoed"))
    await alice.settle()  # the answer came after the broadcast: both have been applied
    await bob.settle()

    assert server.counters.requests_by_type["update_work_item_request"] == 1
    from_server = [c for c in alice.item_changes if c.source != "local"]
    assert [(c.kind, c.current) for c in from_server] == [(ChangeKind.UPDATED, updated)]
    assert [(c.kind, c.source, c.current) for c in bob.item_changes] == [
        (ChangeKind.UPDATED, "server", updated)
    ]
    assert alice.items.get(created.id) == updated


async def test_create_echo_replaces_the_placeholder_once(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, _, project = peers
    alice.item_changes.clear()
    created = await alice.items.create(task(project, "new"))
    await alice.settle()
    assert [(c.kind, c.source) for c in alice.item_changes] == [
        (ChangeKind.ADDED, "local"),
        (ChangeKind.UPDATED, "server"),
    ]
    assert alice.item_changes[1].current == created
    assert alice.items.get_by_project(project) == [created]


async def test_a_write_the_server_fails_rolls_back_to_the_exact_previous_state(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, bob, project = peers
    item = await alice.items.create(task(project, "keep me", priority="high"))
    await bob.settle()
    before = alice.items.get_by_project(project)
    alice.item_changes.clear()

    server.faults.fail_requests(1, code="INTERNAL_ERROR", message="disk on fire")
    with pytest.raises(ServerRejectedException) as raised:
        await alice.items.update(UpdateWorkItemRequest(work_item_id=item.id, title="lost", priority="low"))
    assert raised.value.code == "INTERNAL_ERROR"

    assert alice.items.get_by_project(project) == before
    assert alice.items.get(item.id) is before[0]
    assert not alice.items.is_pending(item.id)
    assert [(c.kind, c.source) for c in alice.item_changes] == [
        (ChangeKind.UPDATED, "local"),
        (ChangeKind.UPDATED, "rollback"),
    ]
    await bob.settle()
    assert bob.items.get(item.id) == item
    assert server_items(server, project) == {item.id: item}


async def test_a_delete_the_server_refuses_is_restored(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, _, project = peers
    epic = await alice.items.create(
        CreateWorkItemRequest(project_id=project, item_type=WorkItemType.EPIC, title="E")
    )
    await alice.items.create(
        CreateWorkItemRequest(project_id=project, item_type=WorkItemType.STORY, title="S", parent_id=epic.id)
    )
    await alice.settle()
    before = alice.items.get_by_project(project)

    with pytest.raises(ServerRejectedException) as raised:
        await alice.items.delete(epic.id)  # it has a child: DELETE_BLOCKED, decided by the server
    assert raised.value.code == "DELETE_BLOCKED"
    assert alice.items.get_by_project(project) == before


async def test_a_stale_caller_version_surfaces_as_conflict_and_overwrites_nothing(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, bob, project = peers
    item = await alice.items.create(task(project, "contested"))
    await bob.settle()
    theirs = await bob.items.update(UpdateWorkItemRequest(work_item_id=item.id, title="bob was first"))

    # Alice's store may not have seen Bob's change yet: the server decides, and says CONFLICT.
    with pytest.raises(VersionConflictException) as raised:
        await alice.items.update(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="alice")
        )
    assert raised.value.current_version in (None, 2)
    await alice.settle()
    assert alice.items.get(item.id) == theirs
    assert server_items(server, project)[item.id] == theirs


async def test_sprint_lifecycle_goes_through_the_server(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, bob, project = peers
    sprint = await alice.sprints.create(
        CreateSprintRequest(
            project_id=project, name="S", start_date=START, end_date=START + timedelta(days=7)
        )
    )
    started = await alice.sprints.start(sprint.id)
    await bob.settle()
    assert bob.sprints.get_active(project) == started
    completed = await bob.sprints.complete(sprint.id)
    await alice.settle()
    assert alice.sprints.get(sprint.id) == completed
    assert alice.sprints.get_active(project) is None
    assert server_sprints(server, project) == {sprint.id: completed}


async def test_after_a_restart_and_changes_while_away_the_store_equals_the_server(tmp_path: Path) -> None:
    async with PmTestServer(database=tmp_path / "pm.db") as server:
        alice = await open_peer(server)
        bob = await open_peer(server)
        try:
            project = await start_project(server, alice, bob)
            kept = await alice.items.create(task(project, "kept"))
            changed = await alice.items.create(task(project, "changed"))
            removed = await alice.items.create(task(project, "removed"))
            sprint = await alice.sprints.create(
                CreateSprintRequest(
                    project_id=project, name="S", start_date=START, end_date=START + timedelta(days=7)
                )
            )
            await bob.settle()
            alice.gate.close()
            bob.gate.close()

            await server.stop()
            await server.start()
            bob.gate.open()
            await bob.wait_reconnected()

            added = await bob.items.create(task(project, "added while away"))
            updated = await bob.items.update(
                UpdateWorkItemRequest(work_item_id=changed.id, title="changed while away")
            )
            await bob.items.delete(removed.id)
            await bob.sprints.delete(sprint.id)
            assert alice.items.get(removed.id) == removed  # alice really was away
            alice.item_changes.clear()

            alice.gate.open()
            result = await alice.wait_reconnected()

            assert result.resynced_projects == (project,)
            assert {i.id: i for i in alice.items.get_by_project(project)} == server_items(server, project)
            assert (
                {s.id: s for s in alice.sprints.get_by_project(project)}
                == server_sprints(server, project)
                == {}
            )
            assert set(server_items(server, project)) == {kept.id, changed.id, added.id}
            assert alice.items.get(changed.id) == updated
            resync = {(c.kind, (c.current or c.previous).id) for c in alice.item_changes}
            assert resync == {
                (ChangeKind.ADDED, added.id),
                (ChangeKind.UPDATED, changed.id),
                (ChangeKind.REMOVED, removed.id),
            }
            assert all(c.source == "resync" for c in alice.item_changes)

            # and alice is live again: she sees bob's next change as it happens
            later = await bob.items.update(UpdateWorkItemRequest(work_item_id=kept.id, status="done"))
            await alice.settle()
            assert alice.items.get(kept.id) == later
        finally:
            await alice.aclose()
            await bob.aclose()


async def test_concurrent_writes_to_one_item_from_one_store_are_serialised(
    server: PmTestServer, peers: tuple[Peer, Peer, UUID]
) -> None:
    alice, bob, project = peers
    item = await alice.items.create(task(project, "busy"))
    async with asyncio.timeout(5):
        results = await asyncio.gather(
            *(
                alice.items.update(UpdateWorkItemRequest(work_item_id=item.id, title=f"t{n}"))
                for n in range(5)
            )
        )
    assert [r.version for r in results] == [2, 3, 4, 5, 6]  # none conflicted: each took the last answer's
    await bob.settle()
    assert (
        alice.items.get(item.id)
        == bob.items.get(item.id)
        == results[-1]
        == server_items(server, project)[item.id]
    )


async def test_over_the_resilient_client_a_transient_failure_is_retried_not_rolled_back(
    server: PmTestServer,
) -> None:
    alice = await open_peer(server, resilient=True)
    try:
        project = await start_project(server, alice)
        item = await alice.items.create(task(project, "retry me"))
        await alice.settle()
        alice.item_changes.clear()
        server.counters.reset()

        server.faults.fail_requests(1, code="SERVICE_UNAVAILABLE", message="Retry after 1 seconds")
        updated = await alice.items.update(UpdateWorkItemRequest(work_item_id=item.id, title="retried"))
        await alice.settle()

        assert server.counters.requests_by_type["update_work_item_request"] == 2
        assert [(c.kind, c.source) for c in alice.item_changes] == [
            (ChangeKind.UPDATED, "local"),
            (ChangeKind.UPDATED, "server"),
        ]
        assert alice.items.get(item.id) == updated == server_items(server, project)[item.id]
    finally:
        await alice.aclose()
