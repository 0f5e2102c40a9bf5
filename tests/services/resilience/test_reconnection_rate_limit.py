"""ReconnectionService and the rate limiter: a polite first delay after a 1008 kick, a paced resync."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from projectmanagement_core.exceptions import ConnectionException, RateLimitClosedException
from projectmanagement_services.resilience import RateLimiter, RateLimitOptions, ReconnectionOptions
from projectmanagement_services.resilience.rate_limiter import _patience
from projectmanagement_services.resilience.reconnection_service import ReconnectionService

from .fake_client import FakeClient
from .fake_time import FakeTime


def service_for(client: FakeClient, time: FakeTime, limiter: RateLimiter) -> ReconnectionService:
    return ReconnectionService(
        client,
        ReconnectionOptions(initial_delay=timedelta(seconds=1), max_delay=timedelta(seconds=30)),
        clock=time.clock,
        sleep=time.sleep,
        random=lambda: 0.0,
        rate_limiter=limiter,
    )


async def connected() -> FakeClient:
    client = FakeClient()
    await client.connect()
    client.calls.clear()
    return client


@pytest.mark.parametrize(
    ("error", "first_delay"),
    [
        (RateLimitClosedException("Rate limit exceeded 5 times. Connection closed."), 20.0),
        (ConnectionException("gone"), 1.0),
    ],
)
async def test_after_a_rate_limit_close_the_first_attempt_waits_a_learned_period(
    error: ConnectionException, first_delay: float
) -> None:
    client = await connected()
    time = FakeTime()
    limiter = RateLimiter(RateLimitOptions(burst=10, period=timedelta(seconds=10)), clock=time.clock)
    limiter.record_close()  # what the client does on the 1008: period 10 s -> 20 s
    service = service_for(client, time, limiter)
    client.drop(error)
    async with asyncio.timeout(5):
        await service.wait_idle()
    assert time.sleeps == [first_delay]


async def test_the_cap_is_max_delay() -> None:
    client = await connected()
    time = FakeTime()
    limiter = RateLimiter(RateLimitOptions(burst=10, period=timedelta(minutes=10)), clock=time.clock)
    service = service_for(client, time, limiter)
    client.drop(RateLimitClosedException())
    async with asyncio.timeout(5):
        await service.wait_idle()
    assert time.sleeps == [30.0]


async def test_the_resync_runs_with_unbounded_rate_limit_waits() -> None:
    client = await connected()
    time = FakeTime()
    seen: list[object] = []
    project = uuid4()
    service = service_for(client, time, RateLimiter(clock=time.clock))
    service.track_subscription([project])
    original = client.get_work_items

    async def get_work_items(project_id, *, since=None, message_id=None):  # type: ignore[no-untyped-def]
        seen.append(_patience.get())
        return await original(project_id, since=since, message_id=message_id)

    client.get_work_items = get_work_items  # type: ignore[method-assign]
    client.drop(ConnectionException("gone"))
    async with asyncio.timeout(5):
        await service.wait_idle()
    assert seen == [None]  # None: no timeout bounds the wait for a slot
    assert _patience.get() is not None  # and only inside the resync
