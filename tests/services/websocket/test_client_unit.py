"""WebSocketClient over a queue-backed fake connection, with fake time: no network, no wall clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import uuid4

import pytest
from google.protobuf.internal import encoder

from projectmanagement_core import converters
from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    ConnectionException,
    ProjectManagementException,
    RequestTimeoutException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import (
    ConnectionState,
    ConnectionStateChange,
    CreateWorkItemRequest,
    SprintStatus,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemCreated,
    WorkItemType,
)
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.websocket import (
    LEGAL_TRANSITIONS,
    IllegalTransitionError,
    WebSocketClient,
    is_legal_transition,
)
from tests.services.websocket.fakes import (
    FakeConnection,
    FakeFactory,
    FakeTime,
    activity_entry,
    envelope,
    make_work_item,
    options,
    work_item_created,
)

S = ConnectionState
MID = "3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b"


class Recorder:
    def __init__(self) -> None:
        self.frames_dropped: list[str] = []
        self.rtts: list[float] = []

    def record_frame_dropped(self, reason: str) -> None:
        self.frames_dropped.append(reason)

    def record_rtt(self, seconds: float) -> None:
        self.rtts.append(seconds)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def factory() -> FakeFactory:
    return FakeFactory()


@pytest.fixture
def telemetry() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(time: FakeTime, factory: FakeFactory, telemetry: Recorder) -> AsyncIterator[WebSocketClient]:
    c = WebSocketClient(
        options(),
        clock=time.clock,
        sleep=time.sleep,
        wall_clock=lambda: 1_700_000_000.0,
        connection_factory=factory,
        telemetry=telemetry,
    )
    yield c
    await c.aclose()


def states(client: WebSocketClient) -> list[ConnectionStateChange]:
    changes: list[ConnectionStateChange] = []
    client.on_state_changed.subscribe(changes.append)
    return changes


async def until(predicate) -> None:
    """Yield to the loop until ``predicate()`` (bounded); never sleeps on wall time."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0)


def create_request(project_id=None) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(
        project_id=project_id or uuid4(), item_type=WorkItemType.TASK, title="Write tests"
    )


# ------------------------------------------------------------------ transition table


EXPECTED_LEGAL = {
    (S.DISCONNECTED, S.CONNECTING),
    (S.DISCONNECTED, S.CLOSED),
    (S.CONNECTING, S.CONNECTED),
    (S.CONNECTING, S.DISCONNECTED),
    (S.CONNECTING, S.RECONNECTING),
    (S.CONNECTING, S.CLOSED),
    (S.CONNECTED, S.RECONNECTING),
    (S.CONNECTED, S.DISCONNECTED),
    (S.CONNECTED, S.CLOSED),
    (S.RECONNECTING, S.CONNECTING),
    (S.RECONNECTING, S.DISCONNECTED),
    (S.RECONNECTING, S.CLOSED),
}


@pytest.mark.parametrize(("previous", "current"), list(itertools.product(S, S)))
def test_transition_table_enumerated(previous: S, current: S) -> None:
    assert is_legal_transition(previous, current) == ((previous, current) in EXPECTED_LEGAL)


def test_closed_is_final_and_every_state_is_in_the_table() -> None:
    assert set(LEGAL_TRANSITIONS) == set(S)
    assert LEGAL_TRANSITIONS[S.CLOSED] == frozenset()


async def test_every_transition_the_client_makes_is_legal(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    changes = states(client)
    await client.connect()  # D -> Cg -> C
    factory.current.drop()  # C -> R
    await until(lambda: client.state is S.RECONNECTING)
    factory.failures.append(ConnectionException("refused"))
    with pytest.raises(ConnectionException):
        await client.connect()  # R -> Cg -> R
    await client.connect()  # R -> Cg -> C
    await client.disconnect()  # C -> D
    factory.failures.append(ConnectionException("refused"))
    with pytest.raises(ConnectionException):
        await client.connect()  # D -> Cg -> D
    await client.connect()
    factory.current.drop()
    await until(lambda: client.state is S.RECONNECTING)
    await client.disconnect()  # R -> D
    await client.aclose()  # D -> Closed
    pairs = [(c.previous, c.current) for c in changes]
    assert all(pair in EXPECTED_LEGAL for pair in pairs)
    assert pairs == [
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTED, S.RECONNECTING),
        (S.RECONNECTING, S.CONNECTING),
        (S.CONNECTING, S.RECONNECTING),
        (S.RECONNECTING, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTED, S.DISCONNECTED),
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.DISCONNECTED),
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTED, S.RECONNECTING),
        (S.RECONNECTING, S.DISCONNECTED),
        (S.DISCONNECTED, S.CLOSED),
    ]


async def test_illegal_transition_is_a_bug_and_raises(client: WebSocketClient) -> None:
    with pytest.raises(IllegalTransitionError):
        client._transition(S.CONNECTED)


# ------------------------------------------------------------------ lifecycle


async def test_client_satisfies_the_interface(client: WebSocketClient) -> None:
    typed: IWebSocketClient = client
    assert typed.state is S.DISCONNECTED


async def test_connect_twice_is_a_no_op_and_aclose_is_final(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    await client.connect()
    assert factory.calls == 1
    assert client.health.is_connected
    await client.aclose()
    assert client.state is S.CLOSED
    assert factory.current.closed
    with pytest.raises(ConnectionException, match="closed"):
        await client.connect()


async def test_requests_need_a_connection(client: WebSocketClient) -> None:
    with pytest.raises(ConnectionException, match="not connected"):
        await client.list_projects()


async def test_async_with_connects_and_closes(time: FakeTime, factory: FakeFactory) -> None:
    async with WebSocketClient(
        options(), clock=time.clock, sleep=time.sleep, connection_factory=factory
    ) as c:
        assert c.state is S.CONNECTED
    assert c.state is S.CLOSED


async def test_reconnect_attempts_are_counted_from_reconnecting(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    factory.current.drop()
    await until(lambda: client.state is S.RECONNECTING)
    factory.failures.append(ConnectionException("refused"))
    changes = states(client)
    with pytest.raises(ConnectionException, match="refused"):
        await client.connect()
    assert client.health.reconnect_attempts == 1
    assert changes[-1].current is S.RECONNECTING
    assert isinstance(changes[-1].error, ConnectionException)
    await client.connect()
    assert client.health.reconnect_attempts == 0
    assert client.state is S.CONNECTED


# ------------------------------------------------------------------ requests


async def test_create_work_item_round_trip(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    request = create_request()
    task = asyncio.create_task(client.create_work_item(request, message_id=MID))
    sent = await factory.current.next_request()
    assert sent.message_id == MID
    assert sent.timestamp == 1_700_000_000
    assert converters.create_work_item_request_from_proto(sent.create_work_item_request) == request
    item = make_work_item(request.project_id, title=request.title)
    factory.current.reply(envelope(MID, work_item_created=work_item_created(item)))
    assert await task == item
    assert client.pending_count == 0
    assert client.health.pending_requests == 0


async def test_answers_out_of_order_reach_their_callers(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    project = uuid4()
    tasks = [asyncio.create_task(client.get_work_items(project)) for _ in range(5)]
    sent = [await factory.current.next_request() for _ in range(5)]
    items = {}
    for message in reversed(sent):
        item = make_work_item(project, title=f"for {message.message_id[:8]}")
        items[message.message_id] = item
        answer = pb.WorkItemsList(work_items=[converters.work_item_to_proto(item)], as_of_timestamp=1)
        factory.current.reply(envelope(message.message_id, work_items_list=answer))
    results = await asyncio.gather(*tasks)
    assert results == [[items[m.message_id]] for m in sent]


async def test_invalid_request_raises_before_anything_is_sent(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    with pytest.raises(ValidationException) as info:
        await client.create_work_item(create_request().model_copy(update={"title": ""}))
    assert "title" in info.value.fields
    with pytest.raises(ValidationException):
        await client.delete_work_item("nope")  # type: ignore[arg-type]
    with pytest.raises(ValidationException):
        await client.list_projects(message_id="NOT-A-UUID")
    assert factory.current.sent.empty()
    assert client.pending_count == 0


async def test_conflict_maps_to_version_conflict_with_the_whole_story(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    work_item_id = uuid4()
    task = asyncio.create_task(
        client.update_work_item(
            UpdateWorkItemRequest(work_item_id=work_item_id, expected_version=3, title="x")
        )
    )
    sent = await factory.current.next_request()
    error = pb.Error(code="CONFLICT", message="Version conflict: current version: 5")
    factory.current.reply(envelope(sent.message_id, error=error))
    with pytest.raises(VersionConflictException) as info:
        await task
    assert (info.value.entity_id, info.value.expected_version, info.value.current_version) == (
        work_item_id,
        3,
        5,
    )


async def test_conflict_at_the_expected_version_is_a_business_rule_conflict(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    sprint_id = uuid4()
    task = asyncio.create_task(
        client.update_sprint(
            UpdateSprintRequest(sprint_id=sprint_id, expected_version=2, status=SprintStatus.ACTIVE)
        )
    )
    sent = await factory.current.next_request()
    error = pb.Error(code="CONFLICT", message="Conflict: resource was modified (current version: 2)")
    factory.current.reply(envelope(sent.message_id, error=error))
    with pytest.raises(BusinessRuleConflictException) as info:
        await task
    assert (info.value.entity_id, info.value.current_version) == (sprint_id, 2)


async def test_an_update_answer_without_the_requested_fields_raises_update_not_applied(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    item = make_work_item(version=3)
    task = asyncio.create_task(
        client.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=3, priority="high")
        )
    )
    sent = await factory.current.next_request()
    # pm-server's no-op answer: the item unchanged, no changes listed.
    unchanged = pb.WorkItemUpdated(
        work_item=converters.work_item_to_proto(item), user_id=str(item.created_by)
    )
    factory.current.reply(envelope(sent.message_id, work_item_updated=unchanged))
    with pytest.raises(UpdateNotAppliedException) as info:
        await task
    assert info.value.entity == item
    assert info.value.dropped_fields == ("priority",)


async def test_delete_project_sends_the_expected_version_and_refuses_a_bad_one_before_sending(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    with pytest.raises(ValidationException) as info:
        await client.delete_project(uuid4(), 0)
    assert info.value.fields == ["expected_version"]
    assert factory.current.sent.empty()

    project_id = uuid4()
    task = asyncio.create_task(client.delete_project(project_id, 4))
    sent = await factory.current.next_request()
    assert (sent.delete_project_request.project_id, sent.delete_project_request.expected_version) == (
        str(project_id),
        4,
    )
    deleted = pb.ProjectDeleted(project_id=str(project_id), user_id=str(uuid4()))
    factory.current.reply(envelope(sent.message_id, project_deleted=deleted))
    await task


async def test_server_error_maps_to_server_rejected(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    task = asyncio.create_task(client.delete_sprint(uuid4()))
    sent = await factory.current.next_request()
    factory.current.reply(envelope(sent.message_id, error=pb.Error(code="NOT_FOUND", message="no sprint")))
    with pytest.raises(ServerRejectedException) as info:
        await task
    assert info.value.code == "NOT_FOUND"


async def test_unexpected_answer_type_is_reported(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    task = asyncio.create_task(client.get_sprints(uuid4()))
    sent = await factory.current.next_request()
    factory.current.reply(envelope(sent.message_id, project_list=pb.ProjectList()))
    with pytest.raises(ProjectManagementException, match="unexpected answer 'project_list'"):
        await task


async def test_subscribe_waits_for_the_ack(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    project, sprint = uuid4(), uuid4()
    task = asyncio.create_task(client.subscribe([project], [sprint]))
    sent = await factory.current.next_request()
    assert list(sent.subscribe.project_ids) == [str(project)]
    assert list(sent.subscribe.sprint_ids) == [str(sprint)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()
    factory.current.reply(envelope(sent.message_id))
    await task
    assert client.pending_count == 0


async def test_timeout_fails_that_request_and_a_late_answer_is_dropped_not_broadcast(
    client: WebSocketClient, factory: FakeFactory, time: FakeTime, telemetry: Recorder
) -> None:
    await client.connect()
    broadcasts: list[WorkItemCreated] = []
    client.on_work_item_created.subscribe(broadcasts.append)
    task = asyncio.create_task(client.create_work_item(create_request()))
    sent = await factory.current.next_request()
    await time.wait_for_sleepers(2)  # the heartbeat and the request timer
    await time.advance(29)  # silence < timeout; keep the heartbeat quiet by receiving something
    factory.current.reply(envelope(str(uuid4()), pong=pb.Pong()))
    await time.advance(1)
    with pytest.raises(RequestTimeoutException) as info:
        await task
    assert info.value.operation == "CreateWorkItem"
    assert info.value.message_id == sent.message_id
    assert client.pending_count == 0
    dropped_before = client.frames_dropped.get("late_answer", 0)
    factory.current.reply(envelope(sent.message_id, work_item_created=work_item_created(make_work_item())))
    await until(lambda: client.frames_dropped.get("late_answer", 0) == dropped_before + 1)
    assert broadcasts == []
    assert "late_answer" in telemetry.frames_dropped


# ------------------------------------------------------------------ disconnects


@pytest.mark.parametrize("close_code", [None, 1008])
async def test_drop_fails_pending_at_once_and_moves_to_reconnecting(
    client: WebSocketClient, factory: FakeFactory, close_code: int | None
) -> None:
    await client.connect()
    changes = states(client)
    tasks = [asyncio.create_task(client.list_projects()) for _ in range(3)]
    for _ in range(3):
        await factory.current.next_request()
    factory.current.drop(close_code)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionException) for r in results)
    assert all(r.close_code == close_code for r in results)  # type: ignore[union-attr]
    assert client.state is S.RECONNECTING
    assert changes[-1].previous is S.CONNECTED
    assert isinstance(changes[-1].error, ConnectionException)
    assert client.pending_count == 0
    assert client.health.pending_requests == 0
    assert not client.health.is_connected
    assert factory.current.aborted


async def test_failed_send_is_a_disconnect(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    factory.current.fail_sends = True
    with pytest.raises(ConnectionException):
        await client.list_projects()
    assert client.state is S.RECONNECTING
    assert client.pending_count == 0


async def test_after_a_failed_send_no_other_request_touches_the_connection(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    conn = factory.current
    conn.fail_sends = True
    async with asyncio.timeout(5):
        results = await asyncio.gather(*(client.list_projects() for _ in range(50)), return_exceptions=True)
    assert all(isinstance(r, ConnectionException) for r in results), results
    assert conn.send_attempts == 1
    assert conn.aborted
    assert client.pending_count == 0


async def test_callers_waiting_for_a_slot_fail_at_once_when_the_link_dies(
    time: FakeTime, factory: FakeFactory
) -> None:
    client = WebSocketClient(
        options(max_pending_requests=2), clock=time.clock, sleep=time.sleep, connection_factory=factory
    )
    await client.connect()
    conn = factory.current
    tasks = [asyncio.create_task(client.list_projects()) for _ in range(5)]
    await conn.next_request()
    await conn.next_request()
    assert client.pending_count == 2  # three callers wait for a slot
    conn.incoming.put_nowait(ConnectionException("connection reset"))
    async with asyncio.timeout(5):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionException) for r in results), results
    assert conn.send_attempts == 2  # the three that got a slot after the drop never sent
    assert client.pending_count == 0
    await client.aclose()


async def test_local_disconnect_fails_pending_and_does_not_report_an_error(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()
    changes = states(client)
    task = asyncio.create_task(client.list_projects())
    await factory.current.next_request()
    await client.disconnect()
    with pytest.raises(ConnectionException, match="disconnected locally"):
        await task
    assert client.state is S.DISCONNECTED
    assert [(c.previous, c.current, c.error) for c in changes] == [(S.CONNECTED, S.DISCONNECTED, None)]
    assert factory.current.closed


# ------------------------------------------------------------------ heartbeat


async def test_heartbeat_pings_only_after_silence_and_records_latency(
    client: WebSocketClient, factory: FakeFactory, time: FakeTime, telemetry: Recorder
) -> None:
    await client.connect()
    conn = factory.current
    await time.wait_for_sleepers(1)
    await time.advance(20)
    conn.reply(envelope(str(uuid4()), pong=pb.Pong()))  # traffic at t=20 (an unsolicited pong, dropped)
    await until(lambda: client.frames_dropped.get("late_answer") == 1)
    await time.advance(10)  # t=30: only 10 s of silence
    assert conn.sent.empty()
    await time.advance(20)  # t=50: 30 s of silence -> ping
    ping = await conn.next_request()
    assert ping.WhichOneof("payload") == "ping"
    await time.advance(0.0004)
    conn.reply(envelope(ping.message_id, pong=pb.Pong(timestamp=ping.ping.timestamp)))
    await until(lambda: client.health.latency is not None)
    assert (
        client.health.latency == timedelta(seconds=0.0004)
        or abs(client.health.latency.total_seconds() - 0.0004) < 1e-9
    )
    assert len(telemetry.rtts) == 1
    assert client.state is S.CONNECTED


async def test_heartbeat_timeout_closes_reports_and_fails_pending(
    factory: FakeFactory, time: FakeTime
) -> None:
    # RequestTimeout beyond HeartbeatTimeout: only the heartbeat can fail the pending request.
    client = WebSocketClient(
        options(request_timeout=600), clock=time.clock, sleep=time.sleep, connection_factory=factory
    )
    await client.connect()
    conn = factory.current
    changes = states(client)
    await time.wait_for_sleepers(1)
    task = asyncio.create_task(client.list_projects())
    await conn.next_request()
    await time.advance(30)
    ping = await conn.next_request()  # one ping after HeartbeatInterval of silence
    assert ping.WhichOneof("payload") == "ping"
    await time.advance(29.9)
    assert client.state is S.CONNECTED
    assert conn.sent.empty()  # sparing: no second ping within the interval
    await time.advance(0.1)
    with pytest.raises(ConnectionException, match="heartbeat timeout"):
        await task
    assert client.state is S.RECONNECTING
    assert changes[-1].current is S.RECONNECTING
    assert "heartbeat timeout" in str(changes[-1].error)
    assert conn.aborted
    assert client.pending_count == 0
    await client.aclose()


# ------------------------------------------------------------------ received frames


async def test_broadcasts_raise_typed_events(client: WebSocketClient, factory: FakeFactory) -> None:
    await client.connect()
    created: list[WorkItemCreated] = []
    logged = []
    client.on_work_item_created += created.append
    client.on_activity_logged += logged.append
    item = make_work_item()
    entry = activity_entry()
    subscribing = asyncio.create_task(client.subscribe([item.project_id]))
    factory.current.reply(envelope((await factory.current.next_request()).message_id))
    await subscribing
    factory.current.reply(
        envelope(
            str(uuid4()),
            activity_log_created=pb.ActivityLogCreated(entry=converters.activity_log_entry_to_proto(entry)),
        )
    )
    factory.current.reply(envelope(str(uuid4()), work_item_created=work_item_created(item)))
    await until(lambda: len(created) == 1)
    assert created == [WorkItemCreated(work_item=item, user_id=item.created_by)]
    assert logged == [entry]


async def test_entity_broadcasts_of_a_project_not_subscribed_on_this_connection_are_dropped(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    """pm-server sends them only to the project's subscribers; a server that sends others is
    hostile, and a store would otherwise keep them (issue 14)."""
    await client.connect()
    created: list[WorkItemCreated] = []
    client.on_work_item_created += created.append
    stray, wanted = make_work_item(), make_work_item()
    subscribing = asyncio.create_task(client.subscribe([wanted.project_id]))
    factory.current.reply(envelope((await factory.current.next_request()).message_id))
    await subscribing
    factory.current.reply(envelope(str(uuid4()), work_item_created=work_item_created(stray)))
    factory.current.reply(envelope(str(uuid4()), work_item_created=work_item_created(wanted)))
    await until(lambda: len(created) == 1)
    assert [e.work_item for e in created] == [wanted]
    assert client.frames_dropped["unsubscribed"] == 1
    factory.current.drop()  # subscriptions die with the connection
    await until(lambda: client.state is ConnectionState.RECONNECTING)
    assert client.subscribed_projects == frozenset()


async def test_bad_frames_are_counted_logged_and_the_client_keeps_working(
    client: WebSocketClient, factory: FakeFactory, telemetry: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="projectmanagement_services.websocket")
    await client.connect()
    conn = factory.current
    warnings: list[str] = []
    client.on_warning.subscribe(warnings.append)
    conn.incoming.put_nowait(b"\xff\xfe garbage")
    conn.incoming.put_nowait(b"\x00" * (client.options.max_message_size + 1))
    conn.incoming.put_nowait(envelope(str(uuid4())).SerializeToString() + encoder.TagBytes(70, 2) + b"\x00")
    conn.incoming.put_nowait("Rate limit exceeded. Slow down. (1/5 warnings)")
    await until(lambda: client.warnings_received == 1)
    assert dict(client.frames_dropped) == {"malformed": 1, "oversized": 1, "unknown": 1}
    assert sorted(telemetry.frames_dropped) == ["malformed", "oversized", "unknown"]
    assert warnings == ["Rate limit exceeded. Slow down. (1/5 warnings)"]
    assert "malformed" in caplog.text
    assert "oversized" in caplog.text
    task = asyncio.create_task(client.list_projects())
    sent = await conn.next_request()
    conn.reply(envelope(sent.message_id, project_list=pb.ProjectList()))
    assert await task == []
    assert client.state is S.CONNECTED


async def test_a_failing_event_handler_does_not_break_the_reader(
    client: WebSocketClient, factory: FakeFactory
) -> None:
    await client.connect()

    def broken(_: str) -> None:
        raise RuntimeError("handler bug")

    client.on_warning.subscribe(broken)
    factory.current.incoming.put_nowait("warning")
    task = asyncio.create_task(client.list_projects())
    sent = await factory.current.next_request()
    factory.current.reply(envelope(sent.message_id, project_list=pb.ProjectList()))
    assert await task == []


async def test_the_token_is_not_in_the_client_repr(time: FakeTime, factory: FakeFactory) -> None:
    secret = "s3cr3t-token-value"
    c = WebSocketClient(
        options(auth_token=secret), clock=time.clock, sleep=time.sleep, connection_factory=factory
    )
    assert secret not in repr(c)
    assert secret not in repr(c.options)
    await c.aclose()


async def test_many_requests_beyond_the_limit_wait_for_slots(time: FakeTime, factory: FakeFactory) -> None:
    c = WebSocketClient(
        options(max_pending_requests=2), clock=time.clock, sleep=time.sleep, connection_factory=factory
    )
    await c.connect()
    tasks = [asyncio.create_task(c.list_projects()) for _ in range(5)]
    first = [await factory.current.next_request() for _ in range(2)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert factory.current.sent.empty()  # the third waits for a slot
    assert c.health.pending_requests == 2
    for message in first:
        factory.current.reply(envelope(message.message_id, project_list=pb.ProjectList()))
    for _ in range(3):
        message = await factory.current.next_request()
        assert c.health.pending_requests <= 2
        factory.current.reply(envelope(message.message_id, project_list=pb.ProjectList()))
    assert await asyncio.gather(*tasks) == [[]] * 5
    assert c.health.pending_requests == 0
    await c.aclose()


async def test_fake_connection_satisfies_the_protocol() -> None:
    from projectmanagement_services.websocket import WebSocketConnection

    conn: WebSocketConnection = FakeConnection()
    await conn.close()


async def test_events_support_plus_equals_but_cannot_be_replaced(client: WebSocketClient) -> None:
    seen: list[str] = []
    client.on_warning += seen.append
    assert len(client.on_warning) == 1
    client.on_warning -= seen.append
    assert len(client.on_warning) == 0
    from projectmanagement_services.events import Event

    with pytest.raises(AttributeError, match="cannot be replaced"):
        client.on_warning = Event("other")
