"""WebSocketClient against the reference server (PmTestServer) on 127.0.0.1 with a random port.

Outcomes are awaited (futures, events, a Ping round trip that the in-order server answers after
everything sent before it), never slept for. Where a timer decides an outcome (request timeout,
heartbeat) the client runs on injected fake time.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import trustme

from projectmanagement_core.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    ServerRejectedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.models import (
    ActivityLogEntry,
    ConnectionState,
    ConnectionStateChange,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemCreated,
    WorkItemType,
)
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket import HandshakeRejectedException, WebSocketClient
from tests.services.websocket.fakes import FakeTime, options

S = ConnectionState
SERVER_LOGGERS = ("websockets.server", "projectmanagement_services.testing")
LIMIT = 10.0  # every awaited outcome is bounded by this many seconds


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer(host="127.0.0.1", port=0) as srv:
        yield srv


def client_for(server: PmTestServer, user_id: UUID | None = None, **kwargs: object) -> WebSocketClient:
    overrides: dict[str, object] = {
        "ServerUrl": server.url,
        "UserId": str(user_id or uuid4()),
        "RequestTimeout": LIMIT,
    }
    overrides.update({k: v for k, v in kwargs.items() if k[0].isupper()})
    rest = {k: v for k, v in kwargs.items() if not k[0].isupper()}
    opts = options(**overrides)
    return WebSocketClient(opts, **rest)  # type: ignore[arg-type]


@pytest.fixture
async def client(server: PmTestServer) -> AsyncIterator[WebSocketClient]:
    c = client_for(server)
    async with asyncio.timeout(LIMIT):
        await c.connect()
    yield c
    await c.aclose()


async def new_project(client: WebSocketClient, key: str = "PM") -> UUID:
    project = await client.create_project(CreateProjectRequest(key=key, title=f"Project {key}"))
    return project.id


def task_request(project_id: UUID, title: str = "Write the client") -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)


def recorded(client: WebSocketClient) -> list[ConnectionStateChange]:
    changes: list[ConnectionStateChange] = []
    client.on_state_changed.subscribe(changes.append)
    return changes


async def state_reached(client: WebSocketClient, state: ConnectionState) -> None:
    """Await (an event, not time) until the client is in ``state``."""
    reached = asyncio.Event()

    def watch(change: ConnectionStateChange) -> None:
        if change.current is state:
            reached.set()

    client.on_state_changed.subscribe(watch)
    try:
        if client.state is not state:
            await reached.wait()
    finally:
        client.on_state_changed.unsubscribe(watch)


# ------------------------------------------------------------------ every operation


async def test_every_operation_round_trips(client: WebSocketClient, server: PmTestServer) -> None:
    async with asyncio.timeout(LIMIT):
        project = await client.create_project(CreateProjectRequest(key="OPS", title="Ops", description="d"))
        assert [p.id for p in await client.list_projects()] == [project.id]
        renamed = await client.update_project(
            UpdateProjectRequest(project_id=project.id, expected_version=project.version, title="Operations")
        )
        assert (renamed.title, renamed.version) == ("Operations", project.version + 1)

        await client.subscribe([project.id])

        epic = await client.create_work_item(
            CreateWorkItemRequest(project_id=project.id, item_type=WorkItemType.EPIC, title="Epic")
        )
        story = await client.create_work_item(
            CreateWorkItemRequest(
                project_id=project.id, item_type=WorkItemType.STORY, title="Story", parent_id=epic.id
            )
        )
        assert (epic.version, epic.status, epic.priority) == (1, "backlog", "medium")
        assert story.parent_id == epic.id
        items = await client.get_work_items(project.id, since=datetime(2020, 1, 1, tzinfo=UTC))
        assert {i.id for i in items} == {epic.id, story.id}
        updated = await client.update_work_item(
            UpdateWorkItemRequest(work_item_id=story.id, expected_version=1, status="in_progress")
        )
        assert (updated.status, updated.version) == ("in_progress", 2)
        await client.delete_work_item(story.id)
        assert [i.id for i in await client.get_work_items(project.id)] == [epic.id]

        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)  # within the sprint range
        sprint = await client.create_sprint(
            CreateSprintRequest(
                project_id=project.id, name="S1", start_date=start, end_date=start + timedelta(14)
            )
        )
        assert sprint.status is SprintStatus.PLANNED
        assert [s.id for s in await client.get_sprints(project.id)] == [sprint.id]
        active = await client.update_sprint(
            UpdateSprintRequest(
                sprint_id=sprint.id, expected_version=sprint.version, status=SprintStatus.ACTIVE
            )
        )
        assert active.status is SprintStatus.ACTIVE
        await client.delete_sprint(sprint.id)
        assert await client.get_sprints(project.id) == []

        await client.unsubscribe([project.id])
        rtt = await client.ping()
        assert rtt >= timedelta(0)
        assert client.health.latency is not None

        await client.delete_work_item(epic.id)
        await client.delete_project(project.id, renamed.version)
        assert await client.list_projects() == []
    assert client.pending_count == 0
    assert dict(client.frames_dropped) == {}


async def test_stale_version_is_a_version_conflict_with_the_current_version(client: WebSocketClient) -> None:
    async with asyncio.timeout(LIMIT):
        project = await new_project(client)
        item = await client.create_work_item(task_request(project))
        await client.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="v2")
        )
        with pytest.raises(VersionConflictException) as info:
            await client.update_work_item(
                UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="stale")
            )
    assert (info.value.entity_id, info.value.expected_version, info.value.current_version) == (item.id, 1, 2)


async def test_server_errors_map_to_their_exceptions(client: WebSocketClient, server: PmTestServer) -> None:
    async with asyncio.timeout(LIMIT):
        with pytest.raises(ServerRejectedException) as info:
            await client.delete_work_item(uuid4())
        assert info.value.code == "NOT_FOUND"
        server.faults.fail_requests(1, code="SERVICE_UNAVAILABLE", message="Retry after 1 seconds")
        with pytest.raises(ServerRejectedException) as info:
            await client.list_projects()
        assert info.value.is_transient


async def test_client_side_validation_sends_nothing(client: WebSocketClient, server: PmTestServer) -> None:
    before = sum(server.counters.requests_by_type.values())
    with pytest.raises(ValidationException):
        await client.create_work_item(task_request(uuid4(), title="x" * 201))
    async with asyncio.timeout(LIMIT):
        await client.ping()
    assert sum(server.counters.requests_by_type.values()) == before + 1  # only the ping


async def test_a_create_retried_with_its_message_id_is_not_duplicated(
    client: WebSocketClient, server: PmTestServer
) -> None:
    message_id = str(uuid4())
    async with asyncio.timeout(LIMIT):
        project = await new_project(client)
        first = await client.create_work_item(task_request(project), message_id=message_id)
        again = await client.create_work_item(task_request(project), message_id=message_id)
    assert first == again
    assert len(server.work_items(project)) == 1


# ------------------------------------------------------------------ correlation under load


@pytest.mark.slow
async def test_a_thousand_concurrent_requests_on_one_connection_are_all_correlated(
    client: WebSocketClient, server: PmTestServer
) -> None:
    server.faults.set_rate_limit(None)  # 1001 frames on one connection: far beyond pm-server's burst
    async with asyncio.timeout(30):
        project = await new_project(client)
        titles = [f"item {n:04d}" for n in range(1000)]
        items = await asyncio.gather(*(client.create_work_item(task_request(project, t)) for t in titles))
    assert [i.title for i in items] == titles
    assert len({i.id for i in items}) == 1000
    assert server.connection_count == 1
    assert client.pending_count == 0
    assert client.health.pending_requests == 0


# ------------------------------------------------------------------ timeouts


async def test_a_swallowed_answer_times_out_alone_and_leaves_the_map_empty(server: PmTestServer) -> None:
    time = FakeTime()
    client = client_for(server, clock=time.clock, sleep=time.sleep, RequestTimeout=5)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        project = await asyncio.wait_for(new_project(client), LIMIT)
        server.faults.swallow_answers(1)
        lost = asyncio.create_task(client.create_work_item(task_request(project, "lost")))
        others = [
            asyncio.create_task(client.create_work_item(task_request(project, f"ok {n}"))) for n in range(5)
        ]
        answered = await asyncio.gather(*others)  # the server answers in order: "lost" was swallowed
        assert [i.title for i in answered] == [f"ok {n}" for n in range(5)]
        assert not lost.done()
        assert client.pending_count == 1
        await time.advance(5)
        with pytest.raises(RequestTimeoutException) as info:
            await lost
    assert info.value.operation == "CreateWorkItem"
    assert client.pending_count == 0
    assert client.health.pending_requests == 0
    assert client.state is S.CONNECTED
    assert server.counters.answers_swallowed == 1
    await client.aclose()


# ------------------------------------------------------------------ disconnects


async def pending_on_server(
    client: WebSocketClient, server: PmTestServer, n: int
) -> list[asyncio.Task[object]]:
    """``n`` requests whose answers the server swallows, known to have reached it (a ping follows them)."""
    server.faults.swallow_answers(n)
    tasks: list[asyncio.Task[object]] = [asyncio.create_task(client.list_projects()) for _ in range(n)]
    await client.ping()  # answered after the n requests were processed, in order
    assert client.pending_count == n
    return tasks


@pytest.mark.parametrize("fault", ["drop", "close_1008"])
async def test_server_drop_and_close_fail_pending_at_once_and_start_reconnecting(
    server: PmTestServer, fault: str
) -> None:
    time = FakeTime()  # request timers never fire: only the disconnect can fail the requests
    client = client_for(server, clock=time.clock, sleep=time.sleep)
    lost = asyncio.Event()
    client.on_state_changed.subscribe(lambda c: lost.set() if c.current is S.RECONNECTING else None)
    changes = recorded(client)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        tasks = await pending_on_server(client, server, 3)
        if fault == "drop":
            await server.faults.drop_all()
        else:
            await server.faults.close_all(code=1008, reason="rate limit")
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await lost.wait()
    assert all(isinstance(r, ConnectionException) for r in results), results
    expected_code = 1008 if fault == "close_1008" else None
    assert [r.close_code for r in results] == [expected_code] * 3  # type: ignore[union-attr]
    assert client.state is S.RECONNECTING
    assert (changes[-1].previous, changes[-1].current) == (S.CONNECTED, S.RECONNECTING)
    assert isinstance(changes[-1].error, ConnectionException)
    assert client.pending_count == 0
    assert not client.health.is_connected
    # the same client connects again (what the ReconnectionService does)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        assert await client.list_projects() == []
    await client.aclose()


async def test_heartbeat_timeout_fails_pending_and_starts_reconnecting(server: PmTestServer) -> None:
    time = FakeTime()
    client = client_for(
        server,
        clock=time.clock,
        sleep=time.sleep,
        HeartbeatInterval=30,
        HeartbeatTimeout=60,
        RequestTimeout=600,
    )
    changes = recorded(client)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        tasks = await pending_on_server(client, server, 2)
        server.faults.swallow_pongs(100)  # the link looks open but nothing comes back
        for _ in range(40):  # bounded: at most 200 fake seconds
            if client.state is not S.CONNECTED:
                break
            await time.advance(5)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert client.state is S.RECONNECTING
    assert 60 <= time.now - 1000.0 < 70  # HeartbeatTimeout after the last frame received
    assert all(isinstance(r, ConnectionException) and "heartbeat" in str(r) for r in results), results
    assert "heartbeat timeout" in str(changes[-1].error)
    assert server.counters.requests_by_type["ping"] >= 2  # the sync ping and at least one heartbeat ping
    assert client.pending_count == 0
    await client.aclose()


async def test_local_disconnect_and_aclose_never_report_reconnecting(server: PmTestServer) -> None:
    client = client_for(server)
    changes = recorded(client)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        await client.disconnect()
        await server.wait_for_connection_count(0)
        await client.connect()
        await client.aclose()
    assert [c.current for c in changes] == [
        S.CONNECTING,
        S.CONNECTED,
        S.DISCONNECTED,
        S.CONNECTING,
        S.CONNECTED,
        S.CLOSED,
    ]


async def test_refused_handshake_returns_to_disconnected_with_the_status(server: PmTestServer) -> None:
    client = client_for(server)
    server.faults.refuse_handshakes(1, status=503)
    with pytest.raises(HandshakeRejectedException) as info:
        async with asyncio.timeout(LIMIT):
            await client.connect()
    assert info.value.status_code == 503
    assert client.state is S.DISCONNECTED
    await client.aclose()


async def test_same_user_id_on_reconnect_keeps_project_membership(server: PmTestServer) -> None:
    client = client_for(server, uuid4())
    async with asyncio.timeout(LIMIT):
        await client.connect()
        project = await new_project(client)
        await server.faults.drop_all()
        await state_reached(client, S.RECONNECTING)
        await client.connect()
        assert [p.id for p in await client.list_projects()] == [project]
    await client.aclose()


# ------------------------------------------------------------------ broadcasts and odd frames


async def test_broadcasts_from_a_second_client_reach_the_first(server: PmTestServer) -> None:
    first, second = client_for(server), client_for(server)
    created: asyncio.Future[WorkItemCreated] = asyncio.get_running_loop().create_future()
    activity: list[ActivityLogEntry] = []
    first.on_work_item_created.subscribe(lambda e: created.done() or created.set_result(e))
    first.on_activity_logged.subscribe(activity.append)
    async with asyncio.timeout(LIMIT):
        await first.connect()
        await second.connect()
        project = await new_project(first)
        server.add_member(project, second.options.user_id, "member")  # type: ignore[arg-type]
        await first.subscribe([project])
        item = await second.create_work_item(task_request(project, "from the second client"))
        event = await created
    assert event.work_item == item
    assert event.user_id == second.options.user_id
    assert [a.entity_id for a in activity] == [item.id]
    assert first.pending_count == 0
    await first.aclose()
    await second.aclose()


async def test_text_malformed_oversized_and_unknown_frames_do_not_break_the_client(
    server: PmTestServer,
) -> None:
    client = client_for(server, MaxMessageSize=2048)
    warnings: asyncio.Queue[str] = asyncio.Queue()
    client.on_warning.subscribe(warnings.put_nowait)
    async with asyncio.timeout(LIMIT):
        await client.connect()
        await server.faults.send_text("Rate limit exceeded. Slow down. (1/5 warnings)")
        await server.faults.send_malformed()
        await server.faults.send_oversized(4096)
        await server.faults.send_unknown_payload()
        await client.ping()  # the pong comes after every frame above, and frames are handled in order
        assert await warnings.get() == "Rate limit exceeded. Slow down. (1/5 warnings)"
        assert await client.list_projects() == []
    assert client.warnings_received == 1
    assert dict(client.frames_dropped) == {"malformed": 1, "oversized": 1, "unknown": 1}
    assert client.state is S.CONNECTED
    assert server.connection_count == 1
    await client.aclose()


# ------------------------------------------------------------------ auth and TLS


async def test_token_is_sent_as_a_header_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-3b1f-very-secret-value"
    caplog.set_level(logging.DEBUG)
    async with PmTestServer(auth_token=token) as server:
        client = WebSocketClient(options(ServerUrl=server.url, AuthToken=token, RequestTimeout=LIMIT))
        async with asyncio.timeout(LIMIT):
            await client.connect()
            project = await new_project(client)
            assert server.projects()[0].created_by == str(server.user_for_token(token))
            assert [p.id for p in await client.list_projects()] == [project]
            await server.faults.drop_all()
            await state_reached(client, S.RECONNECTING)
            await client.connect()  # the same header again
            assert [p.id for p in await client.list_projects()] == [project]
        await client.aclose()
        wrong = WebSocketClient(options(ServerUrl=server.url, AuthToken="wrong-" + token))
        with pytest.raises(HandshakeRejectedException) as info:
            async with asyncio.timeout(LIMIT):
                await wrong.connect()
        assert info.value.status_code == 401
        await wrong.aclose()
    # Both ends logged the handshake headers (the client as sent, the reference server as
    # received) ... without the token, in any record of either side.
    client_records = [r for r in caplog.records if not r.name.startswith(SERVER_LOGGERS)]
    server_records = [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]
    assert any(r.getMessage() == "> Authorization: <redacted>" for r in client_records)
    assert any(r.getMessage() == "< Authorization: <redacted>" for r in server_records)
    for record in caplog.records:
        assert token not in record.getMessage(), record.name
        assert token not in str(record.args), record.name
    assert token not in caplog.text  # formatted, exceptions included
    assert token not in str(info.value)
    assert token not in repr(info.value)
    assert token not in repr(client)
    assert token not in repr(client.options)


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


async def test_wss_verifies_the_server_against_the_configured_ca(tls_ca: trustme.CA, tmp_path: Path) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    async with PmTestServer(ssl=server_context) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        client = WebSocketClient(options(ServerUrl=server.url, UserId=str(uuid4()), CaFile=str(ca_file)))
        async with asyncio.timeout(LIMIT):
            await client.connect()
            assert await client.list_projects() == []
            await client.ping()
        await client.aclose()

        untrusting = WebSocketClient(options(ServerUrl=server.url))  # system store: the test CA is unknown
        with pytest.raises(ConnectionException, match="TLS") as info:
            async with asyncio.timeout(LIMIT):
                await untrusting.connect()
        assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
        assert untrusting.state is S.DISCONNECTED
        await untrusting.aclose()


# ------------------------------------------------------------------ writing after a drop


async def test_no_write_reaches_the_aborted_transport_after_a_drop(
    server: PmTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """After a TCP abort every further send fails at once, before the transport: asyncio never logs
    "socket.send() raised exception." (its warning for writes to a lost connection)."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    server.faults.set_rate_limit(None)  # an unbounded stream of pings on one connection
    time = FakeTime()  # request timers never fire: only the drop ends the requests
    client = client_for(server, clock=time.clock, sleep=time.sleep, MaxPendingRequests=1000)
    stop = asyncio.Event()
    failures: list[BaseException] = []

    async def worker() -> int:
        sent = 0
        while not stop.is_set():
            try:
                await client.ping()
            except ConnectionException as exc:
                failures.append(exc)
                return sent
            sent += 1
        return sent

    async with asyncio.timeout(LIMIT):
        await client.connect()
        workers = [asyncio.create_task(worker()) for _ in range(200)]
        while server.counters.requests_by_type["ping"] < 2000:  # bounded by LIMIT
            await asyncio.sleep(0)
        await server.faults.drop_all()
        await state_reached(client, S.RECONNECTING)
        # Requests sent after the drop is known fail at once, without touching the transport.
        for _ in range(100):
            with pytest.raises(ConnectionException):
                await client.ping()
        stop.set()
        await asyncio.gather(*workers)
    assert len(failures) == 200
    assert client.pending_count == 0
    asyncio_warnings = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert not [m for m in asyncio_warnings if "socket.send() raised exception" in m], asyncio_warnings
    await client.aclose()
