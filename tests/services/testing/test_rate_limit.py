"""pm-server's rate limiter: burst, refill, text warnings, 1008 after five rejections in a row."""

from __future__ import annotations

import itertools

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from projectmanagement_services.testing import PmTestServer, RateLimit, TokenBucket
from tests.services.testing.conftest import RawClient, make


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_allows_a_burst_then_one_per_period() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=2, period_seconds=10.0, clock=clock)
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    assert bucket.seconds_until_next() == pytest.approx(10.0)
    clock.advance(9.9)
    assert not bucket.try_acquire()
    clock.advance(0.1)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.advance(1_000)  # refill never exceeds the burst
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]


def test_bucket_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(0, 1.0, FakeClock())
    with pytest.raises(ValueError, match="period"):
        TokenBucket(1, 0.0, FakeClock())


async def test_rejected_messages_get_four_warnings_then_1008_on_the_fifth_in_a_row() -> None:
    clock = FakeClock()
    async with PmTestServer(clock=clock) as server, ws_connect(server.url) as ws:
        client = RawClient(ws, "?")
        with server.faults.rate_limit(burst=3, period=60.0):
            for i in range(3):
                assert (await client.call("ping", timestamp=i)).pong.timestamp == i
            await client.send(make("ping", timestamp=99))
            assert await client.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
            clock.advance(60.0)  # one token back: accepted, and the rejection streak resets
            assert (await client.call("ping", timestamp=4)).pong.timestamp == 4
            for _ in range(5):
                await client.send(make("ping", timestamp=99))
            warnings = [await client.recv() for _ in range(4)]
            assert warnings == [f"Rate limit exceeded. Slow down. ({k}/5 warnings)" for k in range(1, 5)]
            with pytest.raises(ConnectionClosed):
                await client.recv()  # as pm-server: the fifth refusal gets the Close, no fifth warning
            assert ws.close_code == 1008
            assert ws.close_reason == "Rate limit exceeded 5 times. Connection closed."
        assert server.counters.rate_limited == 6
        assert server.counters.rate_limit_closes == 1


async def test_limit_is_per_connection_and_off_outside_the_block() -> None:
    clock = FakeClock()
    async with (
        PmTestServer(clock=clock, rate_limit=None) as server,
        ws_connect(server.url) as first,
        ws_connect(server.url) as second,
    ):
        a, b = RawClient(first, "?"), RawClient(second, "?")
        with server.faults.rate_limit(burst=1, period=60.0):
            assert (await a.call("ping", timestamp=1)).pong.timestamp == 1
            assert (await b.call("ping", timestamp=2)).pong.timestamp == 2
            await a.send(make("ping", timestamp=3))
            assert isinstance(await a.recv(), str)
        for i in range(5):
            assert (await a.call("ping", timestamp=i)).pong.timestamp == i


def test_bucket_follows_governor_gcra_for_a_long_run() -> None:
    """Burst 3, period 2 s: cells at 0,0,0 then one every 2 s; idling refills to at most the burst."""
    clock = FakeClock()
    bucket = TokenBucket(burst=3, period_seconds=2.0, clock=clock)
    accepted: list[float] = []
    for _ in range(100):  # one attempt every 0.5 s for 50 s
        if bucket.try_acquire():
            accepted.append(clock.now - 100.0)
        clock.advance(0.5)
    assert accepted[:3] == [0.0, 0.5, 1.0]
    assert accepted[3:6] == [2.0, 4.0, 6.0]  # the tat from three cells at 0..1 s is 6 s: 2, 4, 6 conform
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(accepted[3:])}
    assert gaps == {2.0}


async def test_server_limits_by_default_with_pm_server_numbers() -> None:
    clock = FakeClock()
    async with PmTestServer(clock=clock) as server, ws_connect(server.url) as ws:
        client = RawClient(ws, "?")
        for i in range(100):
            await client.send(make("ping", timestamp=i))
        pongs = [await client.recv() for _ in range(100)]
        assert all(not isinstance(p, str) for p in pongs)
        await client.send(make("ping", timestamp=100))
        assert await client.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
        clock.advance(60.0)
        assert (await client.call("ping", timestamp=101)).pong.timestamp == 101


async def test_protocol_level_pings_cost_a_cell_too() -> None:
    clock = FakeClock()
    async with PmTestServer(clock=clock, rate_limit=RateLimit(burst=2, period=60.0)) as server:
        async with ws_connect(server.url, ping_interval=None) as ws:
            client = RawClient(ws, "?")
            await ws.ping()
            await ws.ping()
            await client.send(make("ping", timestamp=1))
            assert await client.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
        assert server.counters.rate_limited == 1


def test_rate_limit_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="burst"):
        RateLimit(0, 1.0)
    with pytest.raises(ValueError, match="period"):
        RateLimit(1, -1.0)
