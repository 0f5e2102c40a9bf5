"""Server stopped and restarted: the client reconnects, re-subscribes and resyncs what it missed."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from projectmanagement_core.exceptions import ConnectionException
from projectmanagement_core.models import (
    ChangeKind,
    ConnectionState,
    CreateWorkItemRequest,
    EntityChange,
    ProjectSnapshot,
    WorkItem,
    WorkItemCreated,
    WorkItemType,
)
from projectmanagement_services.resilience import ReconnectionResult
from projectmanagement_services.state import WorkItemStore
from projectmanagement_services.testing import PmTestServer

from .conftest import LIMIT, TINY, build_stack, new_project, plain_client


class GatedSleep:
    """Reconnect backoff: the first ``free`` waits are tiny; the next one waits until the test opens it."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.calls = 0
        self.holding = asyncio.Event()
        self.gate = asyncio.Event()

    async def sleep(self, _seconds: float) -> None:
        self.calls += 1
        if self.calls <= self.free:
            await asyncio.sleep(TINY.total_seconds())
            return
        self.holding.set()
        await self.gate.wait()


def task(project_id: object, title: str) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)  # type: ignore[arg-type]


async def test_restart_reconnects_resubscribes_and_resyncs_what_another_client_did_meanwhile(
    server: PmTestServer,
) -> None:
    backoff = GatedSleep(free=1)  # attempt 1 runs against the stopped server; attempt 2 waits for us
    stack = build_stack(server, reconnect_sleep=backoff.sleep)
    client, reconnection = stack.client, stack.reconnection
    other_user = uuid4()
    resynced: list[ProjectSnapshot] = []
    reconnected: asyncio.Future[ReconnectionResult] = asyncio.get_running_loop().create_future()
    reconnection.on_resynced.subscribe(resynced.append)
    reconnection.on_reconnected.subscribe(lambda r: reconnected.done() or reconnected.set_result(r))
    attempts: list[int] = []
    reconnection.on_reconnecting.subscribe(attempts.append)

    async with asyncio.timeout(LIMIT):
        await client.connect()
        project = await new_project(client)
        server.add_member(project, other_user, role="admin")  # it deletes while the client is away
        kept = await client.create_work_item(task(project, "kept"))
        doomed = await client.create_work_item(task(project, "deleted while away"))
        await client.subscribe([project])
        store = WorkItemStore(client)
        store.attach_resync(reconnection)
        await store.load_project(project)
        changes: list[EntityChange[WorkItem]] = []
        store.on_changed.subscribe(changes.append)

        await server.stop()
        await backoff.holding.wait()  # attempt 1 failed against the stopped server; attempt 2 is held
        assert client.state is ConnectionState.RECONNECTING

        # While the client is away, the server comes back and another user changes the project.
        await server.start()
        other = plain_client(server, other_user)
        await other.connect()
        created = await other.create_work_item(task(project, "created while away"))
        await other.delete_work_item(doomed.id)
        await other.aclose()

        backoff.gate.set()
        result = await reconnected

    assert attempts == [1, 2]
    assert result.attempts == 2
    assert result.resubscribed == 1
    assert result.resynced_projects == (project,)
    [snapshot] = resynced
    assert snapshot == result.snapshots[0]
    assert {i.id for i in snapshot.work_items} == {kept.id, created.id}  # doomed is absent: deleted
    assert result.resynced_items == 2

    # The store turned the snapshot into change events for what happened while away.
    resync_changes = {(c.kind, (c.current or c.previous).id) for c in changes if c.source == "resync"}
    assert resync_changes == {(ChangeKind.ADDED, created.id), (ChangeKind.REMOVED, doomed.id)}
    assert {i.id for i in store.get_by_project(project)} == {kept.id, created.id}

    # The subscription is live again on the new connection: another user's create is broadcast to us.
    broadcast: asyncio.Future[WorkItemCreated] = asyncio.get_running_loop().create_future()
    client.on_work_item_created.subscribe(lambda e: broadcast.done() or broadcast.set_result(e))
    async with asyncio.timeout(LIMIT):
        other = plain_client(server, other_user)
        await other.connect()
        after = await other.create_work_item(task(project, "after the reconnect"))
        await other.aclose()
        assert (await broadcast).work_item.id == after.id

    [span] = stack.otel.spans("pm reconnect")
    attributes = dict(span.attributes or {})
    assert attributes["pm.resubscribed"] == 1
    assert attributes["pm.resynced_items"] == 2
    assert [dict(e.attributes or {})["outcome"] for e in span.events] == ["failure", "success"]
    assert stack.otel.counter_by("pm.reconnection.attempts", "outcome") == {"failure": 1, "success": 1}
    store.close()
    await client.aclose()


async def test_operations_during_an_outage_fail_clearly_or_succeed_via_retry(server: PmTestServer) -> None:
    impatient_backoff, patient_backoff = GatedSleep(free=0), GatedSleep(free=0)
    impatient = build_stack(server, reconnect_sleep=impatient_backoff.sleep)
    patient = build_stack(server, reconnect_sleep=patient_backoff.sleep, retry_until_connected=True)

    async with asyncio.timeout(LIMIT):
        await impatient.client.connect()
        await patient.client.connect()
        project = await new_project(patient.client)
        await server.stop()
        await impatient_backoff.holding.wait()
        await patient_backoff.holding.wait()

        # Retries that run out during the outage: a clear ConnectionException, nothing hangs.
        with pytest.raises(ConnectionException, match="not connected"):
            await impatient.client.get_work_items(project)

        # A create whose retry waits for the link: attempt 1 fails (not connected), attempt 2 runs
        # once the client is back, with the same message_id.
        pending = asyncio.create_task(
            patient.client.create_work_item(task(project, "queued during the outage"))
        )
        await server.start()
        patient_backoff.gate.set()
        created = await pending

    assert created.title == "queued during the outage"
    assert [i.title for i in server.work_items(project)] == ["queued during the outage"]
    [span] = patient.otel.spans("pm CreateWorkItem")
    assert dict(span.attributes or {})["pm.attempts"] == 2
    assert [e.name for e in span.events] == ["pm.retry"]
    [failed] = impatient.otel.spans("pm GetWorkItems")
    assert dict(failed.attributes or {})["error.type"] == "ConnectionException"
    assert dict(failed.attributes or {})["pm.attempts"] == 3
    impatient_backoff.gate.set()
    await impatient.client.aclose()
    await patient.client.aclose()
