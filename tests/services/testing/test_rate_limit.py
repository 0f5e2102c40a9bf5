"""pm-server's rate limiter: burst, refill, text warnings, 1008 after five rejections in a row."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from projectmanagement_services.testing import PmTestServer, TokenBucket
from tests.services.testing.conftest import RawClient, make


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_allows_a_burst_then_one_per_refill() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=2, refill_seconds=10.0, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    assert bucket.consecutive_rejections == 1
    clock.advance(9.9)
    assert not bucket.try_acquire()
    clock.advance(0.1)
    assert bucket.try_acquire()
    assert bucket.consecutive_rejections == 0
    clock.advance(1_000)  # refill never exceeds the burst
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]


def test_bucket_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(0, 1.0, FakeClock())
    with pytest.raises(ValueError, match="refill"):
        TokenBucket(1, 0.0, FakeClock())


async def test_rejected_messages_get_warnings_then_1008_after_five_in_a_row() -> None:
    clock = FakeClock()
    async with PmTestServer(clock=clock) as server, ws_connect(server.url) as ws:
        client = RawClient(ws, "?")
        with server.faults.rate_limit(burst=3, refill_seconds=60.0):
            for i in range(3):
                assert (await client.call("ping", timestamp=i)).pong.timestamp == i
            await client.send(make("ping", timestamp=99))
            assert await client.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
            clock.advance(60.0)  # one token back: accepted, and the rejection streak resets
            assert (await client.call("ping", timestamp=4)).pong.timestamp == 4
            for _ in range(5):
                await client.send(make("ping", timestamp=99))
            warnings = [await client.recv() for _ in range(5)]
            assert warnings == [f"Rate limit exceeded. Slow down. ({k}/5 warnings)" for k in range(1, 6)]
            with pytest.raises(ConnectionClosed):
                await client.recv()
            assert ws.close_code == 1008
        assert server.counters.rate_limited == 6


async def test_limit_is_per_connection_and_off_outside_the_block() -> None:
    clock = FakeClock()
    async with (
        PmTestServer(clock=clock) as server,
        ws_connect(server.url) as first,
        ws_connect(server.url) as second,
    ):
        a, b = RawClient(first, "?"), RawClient(second, "?")
        with server.faults.rate_limit(burst=1, refill_seconds=60.0):
            assert (await a.call("ping", timestamp=1)).pong.timestamp == 1
            assert (await b.call("ping", timestamp=2)).pong.timestamp == 2
            await a.send(make("ping", timestamp=3))
            assert isinstance(await a.recv(), str)
        for i in range(5):
            assert (await a.call("ping", timestamp=i)).pong.timestamp == i
