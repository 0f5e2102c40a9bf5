"""Issue 14, client side: the client under a hostile pm-ws server (raw protocol, real sockets).

Each test scripts a raw websockets server on 127.0.0.1 (``HostileServer``) that answers with what a
broken or malicious peer could send. Outcomes are awaited, bounded by ``LIMIT``; where a timer or
the log rate decides an outcome the test injects the clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from websockets.asyncio.server import ServerConnection

from projectmanagement_core import converters
from projectmanagement_core.exceptions import (
    RequestTimeoutException,
    ResponseTooLargeException,
    ValidationException,
)
from projectmanagement_core.models import CreateWorkItemRequest, WorkItemType
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.resilience import ReconnectionOptions, ReconnectionService
from projectmanagement_services.websocket import WebSocketClient
from projectmanagement_services.websocket.client import (
    DROP_LATE_ANSWER,
    DROP_MALFORMED,
    DROP_MALFORMED_ENTITY,
)
from projectmanagement_services.websocket.drop_log import DEFAULT_LOG_INTERVAL
from tests.services.websocket.fakes import envelope, make_sprint, make_work_item, options
from tests.services.websocket.hostile_server import Answerer, HostileServer

LIMIT = 10.0
PROJECT = UUID("33333333-3333-4333-8333-333333333333")
CLIENT_LOGGER = "projectmanagement_services.websocket.client"


def _bad_sprint() -> pb.Sprint:
    """A sprint as a peer stored it through a server that does not validate: end_date = 2**63 - 1."""
    message = converters.sprint_to_proto(make_sprint(PROJECT))
    message.end_date = 2**63 - 1
    return message


def _bad_item() -> pb.WorkItem:
    message = converters.work_item_to_proto(make_work_item(PROJECT))
    message.version = -5
    return message


GOOD_SPRINT = make_sprint(PROJECT)
GOOD_ITEM = make_work_item(PROJECT)
BAD_SPRINT = _bad_sprint()
BAD_ITEM = _bad_item()


async def lists_with_one_bad_entity(request: pb.WebSocketMessage, ws: ServerConnection) -> None:
    """Answers every list with one good and one malformed entity; acks everything else."""
    reply = envelope(request.message_id)
    kind = request.WhichOneof("payload")
    if kind == "get_sprints_request":
        reply.sprints_list.sprints.extend([BAD_SPRINT, converters.sprint_to_proto(GOOD_SPRINT)])
    elif kind == "get_work_items_request":
        reply.work_items_list.work_items.extend([converters.work_item_to_proto(GOOD_ITEM), BAD_ITEM])
    elif kind == "create_work_item_request":
        reply.work_item_created.work_item.CopyFrom(BAD_ITEM)
        reply.work_item_created.user_id = str(uuid4())
    elif kind == "ping":
        reply.pong.timestamp = request.ping.timestamp
    await ws.send(reply.SerializeToString())


async def connected(
    answer: Answerer, **overrides: object
) -> AsyncIterator[tuple[HostileServer, WebSocketClient]]:
    rest = {k: v for k, v in overrides.items() if not k[0].isupper()}
    opts: dict[str, object] = {"RequestTimeout": LIMIT}
    opts.update({k: v for k, v in overrides.items() if k[0].isupper()})
    async with HostileServer(answer) as server:
        client = WebSocketClient(options(ServerUrl=server.url, **opts), **rest)  # type: ignore[arg-type]
        async with asyncio.timeout(LIMIT):
            await client.connect()
        try:
            yield server, client
        finally:
            await client.aclose()


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[HostileServer, WebSocketClient]]:
    async for pair in connected(lists_with_one_bad_entity):
        yield pair


# ------------------------------------------------------------------ malformed entities


async def test_a_list_answer_skips_a_malformed_entity_counts_it_and_names_its_id(
    hostile: tuple[HostileServer, WebSocketClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = hostile
    caplog.set_level(logging.WARNING, CLIENT_LOGGER)
    async with asyncio.timeout(LIMIT):
        sprints = await client.get_sprints(PROJECT)
        items = await client.get_work_items(PROJECT)
    assert sprints == [GOOD_SPRINT]
    assert items == [GOOD_ITEM]
    assert client.frames_dropped[DROP_MALFORMED_ENTITY] == 2
    logged = [r.getMessage() for r in caplog.records if "malformed sprint" in r.getMessage()]
    assert len(logged) == 1
    assert BAD_SPRINT.id in logged[0]
    assert "sprint.end_date" in logged[0]


async def test_a_single_answer_with_an_impossible_version_is_a_validation_error_naming_it(
    hostile: tuple[HostileServer, WebSocketClient],
) -> None:
    _, client = hostile
    request = CreateWorkItemRequest(project_id=PROJECT, item_type=WorkItemType.TASK, title="t")
    with pytest.raises(ValidationException) as caught:
        async with asyncio.timeout(LIMIT):
            await client.create_work_item(request)
    assert [e.field for e in caught.value.errors] == ["work_item.version"]


async def test_the_reconnect_resync_survives_a_malformed_sprint(
    hostile: tuple[HostileServer, WebSocketClient],
) -> None:
    server, client = hostile
    reconnection = ReconnectionService(
        client, ReconnectionOptions(max_attempts=3, initial_delay=0.001, max_delay=0.001)
    )
    reconnection.track_subscription([PROJECT])
    resynced: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    failed: list[BaseException] = []
    reconnection.on_resynced += lambda snapshot: resynced.done() or resynced.set_result(snapshot)
    reconnection.on_reconnect_failed += failed.append
    try:
        await server.connections[-1].close(1011, "hostile drop")
        async with asyncio.timeout(LIMIT):
            snapshot = await resynced
            await reconnection.wait_idle()
    finally:
        await reconnection.aclose()
    assert failed == []
    assert snapshot.sprints == (GOOD_SPRINT,)  # type: ignore[attr-defined]
    assert snapshot.work_items == (GOOD_ITEM,)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ oversized answers


async def oversized_lists(request: pb.WebSocketMessage, ws: ServerConnection) -> None:
    reply = envelope(request.message_id)
    reply.work_items_list.work_items.add(title="x" * 3000)  # above MaxMessageSize 1024, within 4x
    await ws.send(reply.SerializeToString())


async def test_an_oversized_answer_fails_its_request_at_once_naming_the_size_and_option() -> None:
    async for _, client in connected(oversized_lists, MaxMessageSize=1024, RequestTimeout=3600):
        with pytest.raises(ResponseTooLargeException) as caught:
            async with asyncio.timeout(LIMIT):  # far below RequestTimeout: no waiting for it
                await client.get_work_items(PROJECT)
        error = caught.value
        assert error.operation == "GetWorkItems"
        assert error.limit == 1024
        assert error.size > 3000
        assert "ProjectManagement:WebSocket:MaxMessageSize" in str(error)
        assert str(error.size) in str(error)
        assert client.pending_count == 0
        assert client.frames_dropped["oversized"] == 1


# ------------------------------------------------------------------ stray frames: counted, logged at a bounded rate

STRAY = 500


async def stray_flood(request: pb.WebSocketMessage, ws: ServerConnection) -> None:
    """On a ping: STRAY late answers, malformed frames and text frames each, then the pong."""
    for _ in range(STRAY):
        await ws.send(envelope(str(uuid4())).SerializeToString())  # an ack nobody waits for
        await ws.send(b"\xff\xfe garbage")
        await ws.send("a text frame nobody asked for")
    reply = envelope(request.message_id)
    reply.pong.timestamp = request.ping.timestamp
    await ws.send(reply.SerializeToString())


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_every_stray_frame_is_counted_and_logged_at_a_bounded_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    caplog.set_level(logging.INFO, CLIENT_LOGGER)
    async for _, client in connected(stray_flood, clock=clock, HeartbeatInterval=3600, HeartbeatTimeout=7200):
        async with asyncio.timeout(LIMIT):
            await client.ping()  # answered after the flood: every stray frame was handled
        assert client.frames_dropped[DROP_LATE_ANSWER] == STRAY
        assert client.frames_dropped[DROP_MALFORMED] == STRAY
        lines = [r for r in caplog.records if r.name == CLIENT_LOGGER and "dropped" in r.getMessage()]
        assert len(lines) == 2  # one per reason, however many frames
        assert client.warnings_received == STRAY
        assert len([r for r in caplog.records if "server warning" in r.getMessage()]) == 1

        clock.now += DEFAULT_LOG_INTERVAL
        caplog.clear()
        async with asyncio.timeout(LIMIT):
            await client.ping()
        summaries = [r.getMessage() for r in caplog.records if "more suppressed" in r.getMessage()]
        assert len(summaries) == 3
        assert all(f"({STRAY - 1} more suppressed)" in s for s in summaries)
        assert client.frames_dropped[DROP_MALFORMED] == 2 * STRAY


# ------------------------------------------------------------------ flood: timers keep their promises

FLOOD = 5_000  # bounded


async def flood_and_never_answer(request: pb.WebSocketMessage, ws: ServerConnection) -> None:
    """On a ping: a bounded flood of stray frames; the ping itself is never answered."""
    stray = envelope(os.urandom(4).hex()).SerializeToString()
    for _ in range(FLOOD):
        await ws.send(stray)


async def test_a_flood_of_stray_frames_does_not_starve_the_request_timeout() -> None:
    """Over real sockets (websockets also pauses reading every few frames); the worst case, a
    transport that never suspends, is test_read_loop_fairness."""
    timeout = 0.2
    async for _, client in connected(
        flood_and_never_answer, RequestTimeout=timeout, HeartbeatInterval=3600, HeartbeatTimeout=7200
    ):
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(RequestTimeoutException):
            async with asyncio.timeout(LIMIT * 3):
                await client.ping()
        late_by = loop.time() - started - timeout
        # A generous bound on the loop's own clock (the flood itself takes seconds to read here);
        # whether the timer fired mid-flood depends on the machine's speed, so it is not asserted.
        assert late_by < 2.0, f"the timeout fired {late_by:.2f} s late under the flood"
