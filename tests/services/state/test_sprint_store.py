"""SprintStore against an in-memory client: lifecycle writes go to the server, ordering, resync."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import ServerRejectedException, UpdateNotAppliedException
from projectmanagement_core.interfaces import ISprintStore
from projectmanagement_core.models import (
    ChangeKind,
    ConnectionState,
    CreateSprintRequest,
    EntityChange,
    ProjectSnapshot,
    Sprint,
    SprintStatus,
    UpdateSprintRequest,
)
from projectmanagement_services.state import SprintStore
from tests.services.state.fake_client import T0, FakeClient, make_sprint

PROJECT = UUID("22222222-2222-4222-8222-222222222222")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def store(client: FakeClient) -> SprintStore:
    return SprintStore(client, utc_now=lambda: NOW)  # type: ignore[arg-type]


@pytest.fixture
def changes(store: SprintStore) -> list[EntityChange[Sprint]]:
    seen: list[EntityChange[Sprint]] = []
    store.on_changed.subscribe(seen.append)
    return seen


def seed(client: FakeClient, **overrides: object) -> Sprint:
    sprint = make_sprint(project_id=PROJECT, **overrides)
    client.broadcast_sprint(sprint, created=True)
    return sprint


def test_store_satisfies_the_interface(store: SprintStore) -> None:
    typed: ISprintStore = store
    assert typed.get_by_project(PROJECT) == []


@pytest.mark.parametrize(
    ("method", "status"), [("start", SprintStatus.ACTIVE), ("complete", SprintStatus.COMPLETED)]
)
async def test_lifecycle_changes_are_server_updates_shown_optimistically(
    client: FakeClient, store: SprintStore, method: str, status: SprintStatus
) -> None:
    sprint = seed(client, version=2)
    task = asyncio.create_task(getattr(store, method)(sprint.id))
    call = await client.next_call()
    assert call.operation == "update_sprint"
    assert call.argument == UpdateSprintRequest(sprint_id=sprint.id, expected_version=2, status=status)
    assert store.get(sprint.id).status is status
    answer = sprint.model_copy(update={"status": status, "version": 3})
    call.answer(answer)
    assert await task == answer
    assert store.get(sprint.id) == answer


async def test_failed_start_rolls_back(
    client: FakeClient, store: SprintStore, changes: list[EntityChange[Sprint]]
) -> None:
    sprint = seed(client)
    changes.clear()
    task = asyncio.create_task(store.start(sprint.id))
    call = await client.next_call()
    call.fail(ServerRejectedException("VALIDATION_ERROR", "another sprint is active"))
    with pytest.raises(ServerRejectedException):
        await task
    assert store.get(sprint.id) is sprint
    assert store.get_active(PROJECT) is None
    assert [c.source for c in changes] == ["local", "rollback"]


async def test_delete_goes_to_the_server_and_echo_is_applied_once(
    client: FakeClient, store: SprintStore, changes: list[EntityChange[Sprint]]
) -> None:
    sprint = seed(client)
    changes.clear()
    task = asyncio.create_task(store.delete(sprint.id))
    call = await client.next_call()
    assert (call.operation, call.argument) == ("delete_sprint", sprint.id)
    client.broadcast_sprint_deleted(sprint.id)
    call.answer(None)
    await task
    assert store.get(sprint.id) is None
    assert [(c.kind, c.source) for c in changes] == [(ChangeKind.REMOVED, "local")]


async def test_create_placeholder_then_server_sprint(client: FakeClient, store: SprintStore) -> None:
    request = CreateSprintRequest(
        project_id=PROJECT, name="S1", start_date=T0, end_date=T0 + timedelta(days=7)
    )
    task = asyncio.create_task(store.create(request))
    call = await client.next_call()
    [placeholder] = store.get_by_project(PROJECT)
    assert (placeholder.name, placeholder.status, placeholder.version) == ("S1", SprintStatus.PLANNED, 0)
    real = make_sprint(project_id=PROJECT, name="S1", start_date=T0, end_date=T0 + timedelta(days=7))
    client.broadcast_sprint(real, created=True)
    call.answer(real)
    await task
    assert store.get_by_project(PROJECT) == [real]


async def test_sprints_ordered_by_start_date_and_active_found(client: FakeClient, store: SprintStore) -> None:
    late = seed(client, start_date=T0 + timedelta(days=30), end_date=T0 + timedelta(days=44))
    active = seed(
        client,
        start_date=T0 + timedelta(days=14),
        end_date=T0 + timedelta(days=28),
        status=SprintStatus.ACTIVE,
    )
    early = seed(client, start_date=T0, end_date=T0 + timedelta(days=14), status=SprintStatus.COMPLETED)
    assert store.get_by_project(PROJECT) == [early, active, late]
    assert store.get_active(PROJECT) == active
    client.broadcast_sprint_deleted(active.id)
    assert store.get_active(PROJECT) is None


async def test_update_uses_store_version(client: FakeClient, store: SprintStore) -> None:
    sprint = seed(client, version=5)
    task = asyncio.create_task(store.update(UpdateSprintRequest(sprint_id=sprint.id, goal="ship")))
    call = await client.next_call()
    assert call.argument.expected_version == 5
    assert store.get(sprint.id).goal == "ship"
    call.answer(sprint.model_copy(update={"goal": "ship", "version": 6}))
    await task
    assert store.get(sprint.id).version == 6


async def test_snapshot_and_load_replace_sprints(client: FakeClient, store: SprintStore) -> None:
    gone = seed(client)
    kept = seed(client, name="kept")
    client.set_state(ConnectionState.RECONNECTING)
    client.set_state(ConnectionState.CONNECTED)  # the snapshot is fetched over the new connection
    result = store.apply_snapshot(ProjectSnapshot(project_id=PROJECT, sprints=(kept,), as_of=NOW))
    assert [(c.kind, c.previous) for c in result] == [(ChangeKind.REMOVED, gone)]
    assert store.get_by_project(PROJECT) == [kept]

    task = asyncio.create_task(store.load_project(PROJECT))
    call = await client.next_call()
    assert call.operation == "get_sprints"
    fresh = make_sprint(project_id=PROJECT)
    call.answer([fresh])
    assert await task == [fresh]
    assert store.get(kept.id) is None


async def test_sprint_update_the_server_did_not_store_rolls_back_and_is_reported(
    client: FakeClient, store: SprintStore
) -> None:
    sprint = seed(client, name="S1")
    reported: list[UpdateNotAppliedException] = []
    store.on_update_not_applied.subscribe(reported.append)

    task = asyncio.create_task(store.update(UpdateSprintRequest(sprint_id=sprint.id, name="S2")))
    call = await client.next_call()
    assert store.get(sprint.id).name == "S2"  # type: ignore[union-attr]
    dropped = UpdateNotAppliedException("UpdateSprint", sprint, ("name",))
    call.fail(dropped)

    with pytest.raises(UpdateNotAppliedException):
        await task
    assert reported == [dropped]
    assert store.get(sprint.id) == sprint
