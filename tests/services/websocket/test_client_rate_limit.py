"""WebSocketClient with a RateLimiter over a fake connection and fake time: how frames are paced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import RateLimitClosedException, RateLimitExceededException
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.resilience import RateLimiter, RateLimitOptions
from projectmanagement_services.websocket import WebSocketClient
from tests.services.websocket.fakes import FakeFactory, FakeTime, envelope, options


async def until(predicate: Callable[[], bool]) -> None:
    """Yield to the loop until ``predicate()`` (bounded); never sleeps on wall time."""
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0)


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def factory() -> FakeFactory:
    return FakeFactory()


@pytest.fixture
def limiter(time: FakeTime) -> RateLimiter:
    return RateLimiter(
        RateLimitOptions(burst=3, period=timedelta(seconds=10)), clock=time.clock, sleep=time.sleep
    )


@pytest.fixture
async def client(
    time: FakeTime, factory: FakeFactory, limiter: RateLimiter
) -> AsyncIterator[WebSocketClient]:
    c = WebSocketClient(
        options(request_timeout=30),
        clock=time.clock,
        sleep=time.sleep,
        connection_factory=factory,
        rate_limiter=limiter,
    )
    yield c
    await c.aclose()


def pong_for(request: pb.WebSocketMessage) -> pb.WebSocketMessage:
    return envelope(request.message_id, pong=pb.Pong(timestamp=request.ping.timestamp))


async def test_frames_beyond_the_burst_wait_for_their_slot_before_anything_is_sent(
    client: WebSocketClient, factory: FakeFactory, time: FakeTime
) -> None:
    await client.connect()
    conn = factory.current
    pings = [asyncio.create_task(client.ping()) for _ in range(4)]
    for _ in range(2):
        conn.reply(pong_for(await conn.next_request()))
    await until(lambda: sum(p.done() for p in pings) == 2)
    assert conn.sent.empty()  # the last cell of the burst waits out the 5 % margin, unsent
    await time.advance(0.5)
    conn.reply(pong_for(await conn.next_request()))
    await until(lambda: sum(p.done() for p in pings) == 3)
    await time.advance(9.9)
    assert conn.sent.empty()  # the fourth: a period after the third's slot, plus the margin
    await time.advance(0.1)
    conn.reply(pong_for(await conn.next_request()))
    await asyncio.gather(*pings)


async def test_a_slot_beyond_the_request_timeout_fails_fast_unsent(
    time: FakeTime, factory: FakeFactory
) -> None:
    slow = RateLimiter(
        RateLimitOptions(burst=1, period=timedelta(seconds=60)), clock=time.clock, sleep=time.sleep
    )
    client = WebSocketClient(
        options(request_timeout=30),
        clock=time.clock,
        sleep=time.sleep,
        connection_factory=factory,
        rate_limiter=slow,
    )
    await client.connect()
    conn = factory.current
    first = asyncio.create_task(client.ping())
    conn.reply(pong_for(await conn.next_request()))
    await first
    with pytest.raises(RateLimitExceededException) as caught:
        await client.ping()
    assert caught.value.retry_after == timedelta(seconds=63)
    assert caught.value.timeout == timedelta(seconds=30)
    assert conn.sent.empty()
    assert client.pending_count == 0
    await client.aclose()


async def test_every_connect_starts_with_a_full_bucket(
    client: WebSocketClient, factory: FakeFactory, limiter: RateLimiter
) -> None:
    await client.connect()
    assert [limiter.try_acquire() for _ in range(3)] == [True, True, False]
    factory.current.drop()
    await until(lambda: client.state.value == "Reconnecting")
    await client.connect()
    assert [limiter.try_acquire() for _ in range(3)] == [True, True, False]


async def test_the_heartbeat_skips_its_ping_when_no_slot_is_free_and_pings_when_one_is(
    client: WebSocketClient, factory: FakeFactory, time: FakeTime, limiter: RateLimiter
) -> None:
    await client.connect()
    conn = factory.current
    await time.wait_for_sleepers(1)
    await time.advance(29.9)
    assert [limiter.try_acquire() for _ in range(2)] == [True, True]  # requests just took the burst
    await time.advance(0.1)  # HeartbeatInterval of silence: a ping is due, but no slot is free
    await until(lambda: client.heartbeat_pings_skipped == 1)
    assert conn.sent.empty()
    await time.advance(0.3)  # the last cell of the burst frees up after the margin, at 30.4 s
    assert conn.sent.empty()
    await time.advance(0.2)
    ping = await conn.next_request()
    assert ping.WhichOneof("payload") == "ping"
    assert client.heartbeat_pings_skipped == 1


async def test_a_server_warning_slows_the_limiter_at_once_and_is_counted(
    client: WebSocketClient, factory: FakeFactory, limiter: RateLimiter
) -> None:
    await client.connect()
    factory.current.incoming.put_nowait("Rate limit exceeded. Slow down. (1/5 warnings)")
    await until(lambda: client.warnings_received == 1)
    assert limiter.refusals_seen == 1
    assert (limiter.burst, limiter.period) == (1, timedelta(seconds=20))
    assert not limiter.try_acquire()


async def test_a_rate_limit_close_fails_pending_requests_typed_and_teaches_the_limiter(
    client: WebSocketClient, factory: FakeFactory, limiter: RateLimiter
) -> None:
    await client.connect()
    conn = factory.current
    pending = asyncio.create_task(client.ping())
    await conn.next_request()
    conn.incoming.put_nowait(RateLimitClosedException("Rate limit exceeded 5 times. Connection closed."))
    with pytest.raises(RateLimitClosedException) as caught:
        await pending
    assert caught.value.close_code == 1008
    assert caught.value.reason == "Rate limit exceeded 5 times. Connection closed."
    assert limiter.closes_seen == 1
    assert client.state.value == "Reconnecting"
