"""ReconnectionService: one loop, backoff, give-up, flapping, resubscribe + resync, clean close."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from opentelemetry.trace import StatusCode
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response

from projectmanagement_core.exceptions import ConnectionException, ServerRejectedException
from projectmanagement_core.models import ConnectionState, ProjectSnapshot
from projectmanagement_services.resilience.options import ReconnectionOptions
from projectmanagement_services.resilience.reconnection_service import (
    ReconnectionResult,
    ReconnectionService,
    TrackedSubscriptions,
)
from projectmanagement_services.websocket.connection import HandshakeRejectedException

from .fake_client import FakeClient, make_sprint, make_work_item
from .fake_time import FakeTime, ManualSleep
from .otel_capture import OtelCapture

HALF = 0.5  # random source value: jitter factor 1 + 0.25 * 0.5 = 1.125


def options(**overrides: object) -> ReconnectionOptions:
    values: dict[str, object] = {
        "max_attempts": 10,
        "initial_delay": timedelta(seconds=1),
        "max_delay": timedelta(seconds=30),
        "backoff_multiplier": 2.0,
        "stable_after": timedelta(seconds=10),
    }
    values.update(overrides)
    return ReconnectionOptions(**values)  # type: ignore[arg-type]


def make_service(
    client: FakeClient, time: FakeTime, *, sleep: object = None, **overrides: object
) -> ReconnectionService:
    return ReconnectionService(
        client,
        options(**overrides),
        clock=time.clock,
        sleep=sleep or time.sleep,  # type: ignore[arg-type]
        random=lambda: HALF,
    )


class Recorder:
    """Collects what a service raises."""

    def __init__(self, service: ReconnectionService) -> None:
        self.reconnecting: list[int] = []
        self.resynced: list[ProjectSnapshot] = []
        self.reconnected: list[ReconnectionResult] = []
        self.failed: list[ConnectionException] = []
        service.on_reconnecting.subscribe(self.reconnecting.append)
        service.on_resynced.subscribe(self.resynced.append)
        service.on_reconnected.subscribe(self.reconnected.append)
        service.on_reconnect_failed.subscribe(self.failed.append)


async def connected_client() -> FakeClient:
    client = FakeClient()
    await client.connect()
    client.calls.clear()
    return client


async def finish(service: ReconnectionService) -> None:
    async with asyncio.timeout(5):
        await service.wait_idle()


# -- tracking ----------------------------------------------------------------------------------


async def test_tracked_subscriptions_are_deduplicated_snapshots_in_first_tracked_order() -> None:
    client = FakeClient()
    service = make_service(client, FakeTime())
    p1, p2, p3, s1 = uuid4(), uuid4(), uuid4(), uuid4()

    service.track_subscription([p1, p2], [s1])
    snapshot = service.tracked_subscriptions
    service.track_subscription([p2, p3, p1], [s1])

    assert snapshot == TrackedSubscriptions((p1, p2), (s1,))
    assert service.tracked_subscriptions == TrackedSubscriptions((p1, p2, p3), (s1,))
    assert len(service.tracked_subscriptions) == 4


async def test_untrack_removes_ids_and_ignores_unknown_ones() -> None:
    service = make_service(FakeClient(), FakeTime())
    p1, p2, s1 = uuid4(), uuid4(), uuid4()
    service.track_subscription([p1, p2], [s1])

    service.untrack_subscription([p2, uuid4()], [s1])

    assert service.tracked_subscriptions == TrackedSubscriptions((p1,), ())


# -- reconnect, resubscribe, resync ------------------------------------------------------------


async def test_drop_reconnects_then_resubscribes_then_resyncs_each_project() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time)
    events = Recorder(service)
    p1, p2, s1 = uuid4(), uuid4(), uuid4()
    service.track_subscription([p1, p2], [s1])
    items = [make_work_item(p1, title="a"), make_work_item(p1, title="b")]
    sprints = [make_sprint(p2)]
    client.work_items[p1] = items
    client.sprints[p2] = sprints

    client.drop(ConnectionException("gone"))
    await finish(service)

    assert client.state is ConnectionState.CONNECTED
    assert [c.name for c in client.calls] == [
        "connect",
        "subscribe",
        "get_work_items",
        "get_sprints",
        "get_work_items",
        "get_sprints",
    ]
    assert client.calls_of("subscribe")[0].args == ((p1, p2), (s1,))
    assert [s.project_id for s in events.resynced] == [p1, p2]
    assert events.resynced[0].work_items == tuple(items)
    assert events.resynced[1].sprints == tuple(sprints)
    assert events.reconnecting == [1]
    [result] = events.reconnected
    assert result.attempts == 1
    assert result.resubscribed == 3
    assert result.resynced_projects == (p1, p2)
    assert result.resynced_items == 3
    assert result.snapshots == tuple(events.resynced)
    assert result.outage_seconds == pytest.approx(1.125)
    assert events.failed == []


async def test_no_tracked_subscriptions_means_no_subscribe_and_no_resync() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    events = Recorder(service)

    client.drop()
    await finish(service)

    assert [c.name for c in client.calls] == ["connect"]
    assert events.reconnected[0].resubscribed == 0
    assert events.reconnected[0].snapshots == ()


async def test_backoff_doubles_with_jitter_up_to_max_delay() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time, max_delay=timedelta(seconds=5))
    events = Recorder(service)
    client.script("connect", *(ConnectionException("refused") for _ in range(5)))

    client.drop()
    await finish(service)

    assert time.sleeps == pytest.approx([1.125, 2.25, 4.5, 5.0, 5.0, 5.0])  # jitter never passes max
    assert events.reconnecting == [1, 2, 3, 4, 5, 6]
    assert events.reconnected[0].attempts == 6
    assert len(client.calls_of("connect")) == 6


async def test_gives_up_after_max_attempts_disconnects_and_reports_the_last_error() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time, max_attempts=3)
    events = Recorder(service)
    last = ConnectionException("refused 3")
    client.script("connect", ConnectionException("refused 1"), ConnectionException("refused 2"), last)

    client.drop()
    await finish(service)

    assert len(client.calls_of("connect")) == 3
    assert len(time.sleeps) == 3  # one delay before each attempt, none after the last
    assert client.calls[-1].name == "disconnect"
    assert client.state is ConnectionState.DISCONNECTED
    [failure] = events.failed
    assert isinstance(failure, ConnectionException)
    assert "3 attempt" in str(failure)
    assert failure.__cause__ is last
    assert events.reconnected == []
    assert not service.is_reconnecting


async def test_max_attempts_none_keeps_trying_past_any_count() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime(), max_attempts=None)
    events = Recorder(service)
    client.script("connect", *(ConnectionException("refused") for _ in range(25)))

    client.drop()
    await finish(service)

    assert events.reconnected[0].attempts == 26
    assert events.failed == []


async def test_a_drop_during_resync_counts_as_a_failed_attempt_and_the_loop_goes_on() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time)
    events = Recorder(service)
    project = uuid4()
    service.track_subscription([project])

    def drop_mid_resync(_project: object) -> None:
        client.drop()  # as the real client: the reader sees the loss, then the request fails
        raise ConnectionException("dropped mid-resync")

    client.script("get_work_items", drop_mid_resync)

    client.drop()
    await finish(service)

    assert [c.name for c in client.calls] == [
        "connect",
        "subscribe",
        "get_work_items",
        "connect",
        "subscribe",
        "get_work_items",
        "get_sprints",
    ]
    assert events.reconnected[0].attempts == 2
    assert len(events.resynced) == 1  # nothing raised for the half-done attempt
    assert time.sleeps == pytest.approx([1.125, 2.25])


async def test_transient_server_refusal_during_resync_retries_the_attempt() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    events = Recorder(service)
    project = uuid4()
    service.track_subscription([project])
    client.script("get_sprints", ServerRejectedException("SERVICE_UNAVAILABLE", "Retry after 1 seconds"))

    client.drop()
    await finish(service)

    assert events.reconnected[0].attempts == 2
    assert [s.project_id for s in events.resynced] == [project]


async def test_a_refused_subscription_does_not_block_the_others() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    events = Recorder(service)
    allowed, lost = uuid4(), uuid4()
    service.track_subscription([allowed, lost])
    unauthorized = ServerRejectedException("UNAUTHORIZED", "not a member")
    client.script("subscribe", unauthorized, None, ServerRejectedException("UNAUTHORIZED", "not a member"))

    client.drop()
    await finish(service)

    assert [c.args for c in client.calls_of("subscribe")] == [
        ((allowed, lost), ()),
        ((allowed,), ()),
        ((lost,), ()),
    ]
    [result] = events.reconnected
    assert result.attempts == 1
    assert result.rejected_subscriptions == (lost,)
    assert result.resubscribed == 1
    assert result.resynced_projects == (allowed,)


# -- exactly one loop --------------------------------------------------------------------------


async def test_concurrent_drops_start_exactly_one_loop() -> None:
    client = await connected_client()
    client.connect_gate = asyncio.Event()
    service = make_service(client, FakeTime())
    events = Recorder(service)

    async def report_drop() -> None:
        await asyncio.sleep(0)
        client.drop()

    async with asyncio.timeout(5):
        await asyncio.gather(*(report_drop() for _ in range(20)))
        while not client.calls_of("connect") and client.state is not ConnectionState.CONNECTING:
            await asyncio.sleep(0)
        for _ in range(10):  # more drops while the one loop is mid-connect
            client.drop()
            await asyncio.sleep(0)
        client.connect_gate.set()
    await finish(service)

    assert len(client.calls_of("connect")) == 1
    assert events.reconnecting == [1]
    assert len(events.reconnected) == 1
    reconnect_tasks = [t for t in asyncio.all_tasks() if t.get_name() == "pm-reconnect"]
    assert reconnect_tasks == []


async def test_drops_reported_from_other_threads_start_one_loop_on_the_event_loop() -> None:
    client = await connected_client()
    gate = asyncio.Event()
    client.connect_gate = gate
    service = make_service(client, FakeTime())
    events = Recorder(service)
    client.drop()  # the loop is known from this first report
    await asyncio.sleep(0)

    threads = [threading.Thread(target=client.drop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    for _ in range(5):
        await asyncio.sleep(0)  # let the hopped-over reports run
    gate.set()
    await finish(service)

    assert len(events.reconnected) == 1
    assert events.reconnecting == [1]


# -- flapping ----------------------------------------------------------------------------------


async def test_flapping_server_is_not_hammered_backoff_resets_only_after_stable_after() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time, stable_after=timedelta(seconds=10))
    events = Recorder(service)
    flaps = 4  # outages in all: the first drop, then three more right after each reconnect
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def drop_again_at_once() -> None:
        if len(events.reconnected) < flaps:
            loop.call_soon(client.drop)  # reported by the client's reader, not inside connect()
        else:
            done.set()

    service.on_reconnected.subscribe(lambda _: drop_again_at_once())

    client.drop()
    async with asyncio.timeout(5):
        await done.wait()
    await finish(service)

    # Four outages, each reconnected at once, yet the delays keep growing: 1, 2, 4, 8 (x 1.125).
    assert [r.attempts for r in events.reconnected] == [1, 1, 1, 1]
    assert time.sleeps == pytest.approx([1.125, 2.25, 4.5, 9.0])

    time.advance(10)  # the last connection stayed up for stable_after: the schedule starts over
    client.drop()
    await finish(service)
    assert time.sleeps[-1] == pytest.approx(1.125)


async def test_a_connection_up_just_under_stable_after_does_not_reset_the_backoff() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time, stable_after=timedelta(seconds=10))
    Recorder(service)
    client.drop()
    await finish(service)

    time.advance(9.9)
    client.drop()
    await finish(service)

    assert time.sleeps == pytest.approx([1.125, 2.25])


async def test_the_first_drop_after_a_long_healthy_connection_starts_at_initial_delay() -> None:
    client = await connected_client()  # connected at time 1000 in the service's eyes? not yet seen
    time = FakeTime()
    service = make_service(client, time)
    client.set_state(ConnectionState.CONNECTED)  # the service sees the connection come up
    time.advance(60)

    client.drop()
    await finish(service)

    assert time.sleeps == pytest.approx([1.125])


# -- stopping ----------------------------------------------------------------------------------


async def test_aclose_cancels_a_loop_waiting_in_backoff_and_leaves_no_task() -> None:
    client = await connected_client()
    sleep = ManualSleep()
    service = make_service(client, FakeTime(), sleep=sleep.sleep)
    events = Recorder(service)
    client.drop()
    async with asyncio.timeout(5):
        await sleep.started.wait()
    assert service.is_reconnecting

    async with asyncio.timeout(5):
        await service.aclose()

    assert not service.is_reconnecting
    assert [t for t in asyncio.all_tasks() if t.get_name() == "pm-reconnect"] == []
    assert client.calls_of("connect") == []
    assert events.failed == []
    client.drop()  # closed: no new loop
    await asyncio.sleep(0)
    assert not service.is_reconnecting
    assert len(client.on_state_changed) == 0  # it stopped listening


async def test_aclose_cancels_a_loop_stuck_in_connect() -> None:
    client = await connected_client()
    client.connect_gate = asyncio.Event()  # never set: connect hangs
    service = make_service(client, FakeTime())
    client.drop()
    async with asyncio.timeout(5):
        while client.state is not ConnectionState.CONNECTING:
            await asyncio.sleep(0)
        await service.aclose()

    assert not service.is_reconnecting
    assert [t for t in asyncio.all_tasks() if t.get_name() == "pm-reconnect"] == []


async def test_aclose_without_a_loop_is_harmless_and_idempotent() -> None:
    service = make_service(FakeClient(), FakeTime())
    await service.aclose()
    await service.aclose()
    assert not service.is_reconnecting


async def test_a_local_disconnect_stops_a_running_loop_quietly() -> None:
    client = await connected_client()
    sleep = ManualSleep()
    service = make_service(client, FakeTime(), sleep=sleep.sleep)
    events = Recorder(service)
    client.drop()
    async with asyncio.timeout(5):
        await sleep.started.wait()

    await client.disconnect()
    await finish(service)

    assert [t for t in asyncio.all_tasks() if t.get_name() == "pm-reconnect"] == []  # ended, not pending
    assert client.calls_of("connect") == []
    assert events.failed == []
    assert events.reconnected == []
    assert client.state is ConnectionState.DISCONNECTED


async def test_async_context_manager_closes_the_service() -> None:
    client = await connected_client()
    sleep = ManualSleep()
    async with make_service(client, FakeTime(), sleep=sleep.sleep) as service:
        client.drop()
        async with asyncio.timeout(5):
            await sleep.started.wait()
    assert not service.is_reconnecting


@pytest.mark.parametrize("status", [401, 403])
async def test_the_clients_handshake_rejection_with_4xx_gives_up_at_once(status: int) -> None:
    client = await connected_client()
    service = make_service(client, FakeTime(), max_attempts=None)
    events = Recorder(service)
    rejected = HandshakeRejectedException(status)
    client.script("connect", HandshakeRejectedException(503), HandshakeRejectedException(429), rejected)

    client.drop()
    await finish(service)

    assert len(client.calls_of("connect")) == 3  # 503 and 429 mean "later": retried
    [failure] = events.failed
    assert failure.__cause__ is rejected


async def test_a_handshake_refused_with_401_gives_up_at_once() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime(), max_attempts=None)
    events = Recorder(service)
    unauthorized = InvalidStatus(Response(401, "Unauthorized", Headers()))
    client.script("connect", ConnectionException("refused"), unauthorized)

    client.drop()
    await finish(service)

    assert len(client.calls_of("connect")) == 2  # the transient refusal was retried, the 401 was not
    [failure] = events.failed
    assert failure.__cause__ is unauthorized
    assert client.state is ConnectionState.DISCONNECTED


# -- telemetry ---------------------------------------------------------------------------------


async def test_one_reconnect_span_per_outage_with_an_event_per_attempt_and_counters() -> None:
    client = await connected_client()
    otel = OtelCapture()
    service = ReconnectionService(
        client,
        options(),
        clock=FakeTime().clock,
        sleep=FakeTime().sleep,
        random=lambda: HALF,
        telemetry=otel.telemetry,
    )
    project = uuid4()
    service.track_subscription([project], [uuid4()])
    client.work_items[project] = [make_work_item(project), make_work_item(project)]
    client.sprints[project] = [make_sprint(project)]
    client.script("connect", ConnectionException("refused"), ConnectionException("refused"))

    client.drop()
    await finish(service)

    [span] = otel.spans("pm reconnect")
    assert [dict(e.attributes or {}) for e in span.events] == [
        {"outcome": "failure", "attempt": 1},
        {"outcome": "failure", "attempt": 2},
        {"outcome": "success", "attempt": 3},
    ]
    attributes = dict(span.attributes or {})
    assert attributes["pm.resubscribed"] == 2
    assert attributes["pm.resynced_items"] == 3
    assert attributes["pm.attempts"] == 3
    assert span.status.status_code is StatusCode.UNSET
    assert otel.counter_by("pm.reconnection.attempts", "outcome") == {"failure": 2, "success": 1}


async def test_a_given_up_outage_ends_its_span_with_error_status() -> None:
    client = await connected_client()
    otel = OtelCapture()
    time = FakeTime()
    service = ReconnectionService(
        client,
        options(max_attempts=2),
        clock=time.clock,
        sleep=time.sleep,
        random=lambda: HALF,
        telemetry=otel.telemetry,
    )
    client.script("connect", ConnectionException("refused"), ConnectionException("refused"))

    client.drop()
    await finish(service)

    [span] = otel.spans("pm reconnect")
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == "ConnectionException"
    assert otel.counter_by("pm.reconnection.attempts", "outcome") == {"failure": 2}


async def test_a_cancelled_loop_ends_its_span_without_recording_an_error() -> None:
    client = await connected_client()
    otel = OtelCapture()
    sleep = ManualSleep()
    service = ReconnectionService(
        client,
        options(),
        clock=FakeTime().clock,
        sleep=sleep.sleep,
        random=lambda: HALF,
        telemetry=otel.telemetry,
    )
    client.drop()
    async with asyncio.timeout(5):
        await sleep.started.wait()
        await service.aclose()

    [span] = otel.spans("pm reconnect")
    assert span.end_time is not None
    assert span.status.status_code is StatusCode.UNSET
    assert otel.points("pm.reconnection.attempts") == []


async def test_a_drop_after_a_local_disconnect_and_reconnect_starts_a_new_loop() -> None:
    client = await connected_client()
    sleep = ManualSleep()
    service = make_service(client, FakeTime(), sleep=sleep.sleep)
    events = Recorder(service)
    client.drop()
    async with asyncio.timeout(5):
        await sleep.started.wait()
    await client.disconnect()  # stops the first loop
    await client.connect()
    sleep.release()

    client.drop()  # the first loop is cancelled already: this one must not be swallowed
    await finish(service)

    assert events.reconnecting == [1, 1]
    assert len(events.reconnected) == 1
