"""pm-server's rate limit against the reference server: the client is never refused, never kicked.

The reference server limits as pm-server does (GCRA burst and period per connection, text warnings,
Close 1008 on the fifth refusal in a row); the client mirrors the bucket with its own RateLimiter.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.exceptions import RateLimitClosedException, RateLimitExceededException
from projectmanagement_core.models import CreateWorkItemRequest, WorkItemType
from projectmanagement_services.resilience import (
    CircuitState,
    RateLimiter,
    RateLimitOptions,
    ReconnectionResult,
    RetryPolicyOptions,
    is_breaker_failure,
)
from projectmanagement_services.testing import PmTestServer, RateLimit
from projectmanagement_services.websocket import WebSocketClient

from .conftest import LIMIT, TINY, build_stack, new_project, plain_client, websocket_options


def task(project_id: UUID, title: str) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)  # type: ignore[arg-type]


async def test_twenty_writers_using_up_pm_servers_default_burst_get_no_refusal_and_no_close(
    server: PmTestServer,
) -> None:
    """Default limits on both sides (100 frames, then one a minute): the surplus fails fast, typed."""
    stack = build_stack(server, rate_limit=RateLimitOptions())
    client = stack.client
    created: list[str] = []
    refused: list[RateLimitExceededException] = []

    async def writer(n: int, project: UUID) -> None:
        for k in range(6):
            try:
                item = await client.create_work_item(task(project, f"w{n} #{k}"))
            except RateLimitExceededException as exc:
                refused.append(exc)
            else:
                created.append(item.title)

    async with asyncio.timeout(LIMIT * 3):
        await client.connect()
        project = await new_project(client)  # frame 1 of the burst
        await asyncio.gather(*(writer(n, project) for n in range(20)))
        await client.aclose()
    assert len(created) == 99
    assert len(refused) == 120 - 99
    assert all(timedelta(seconds=LIMIT) < exc.retry_after <= timedelta(seconds=63) for exc in refused)
    assert server.counters.rate_limited == 0
    assert server.counters.rate_limit_closes == 0
    assert len(server.work_items(project)) == 99
    assert stack.breaker.state is CircuitState.CLOSED  # a local refusal is not a server failure
    assert server.counters.requests_by_type["create_work_item_request"] == 99  # never retried


@pytest.mark.slow
async def test_a_resync_of_150_projects_paces_itself_through_a_short_period(tmp_path: Path) -> None:
    """Burst 20, period 50 ms on both sides: 301 frames after the reconnect, not one refused."""
    limit = RateLimit(burst=20, period=0.05)
    user = uuid4()
    async with PmTestServer(database=tmp_path / "pm.db", rate_limit=limit) as server:
        setup = plain_client(server, user)
        with server.faults.rate_limit(None):  # setup only: 150 creates on one unpaced connection
            async with asyncio.timeout(LIMIT * 3), setup:
                projects = [await new_project(setup, f"P{n}") for n in range(150)]
        stack = build_stack(
            server, user, rate_limit=RateLimitOptions(burst=limit.burst, period=timedelta(seconds=0.05))
        )
        reconnected: asyncio.Future[ReconnectionResult] = asyncio.get_running_loop().create_future()
        stack.reconnection.on_reconnected.subscribe(lambda r: reconnected.done() or reconnected.set_result(r))
        async with asyncio.timeout(LIMIT):
            await stack.client.connect()
            await stack.client.subscribe(projects)
        await server.faults.drop_all()
        async with asyncio.timeout(60):  # ~281 paced frames at 50 ms: about 15 s
            result = await reconnected
        assert set(result.resynced_projects) == set(projects)
        assert server.counters.rate_limited == 0
        assert server.counters.rate_limit_closes == 0
        assert stack.rate_limiter is not None
        assert stack.rate_limiter.waits >= 280 - 20  # it did pace: far more than one burst
        assert stack.rate_limiter.refusals_seen == 0
        await stack.client.aclose()


async def test_a_server_limited_lower_than_the_client_warns_the_client_adapts_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    """Server 10 then 1 per 100 ms; client told 20 then 1 per 50 ms: refusals, learning, no loss."""
    async with PmTestServer(database=tmp_path / "pm.db", rate_limit=RateLimit(10, 0.1)) as server:
        stack = build_stack(
            server,
            request_timeout=1.0,  # a refused frame is never answered: its request times out, is retried
            retry=RetryPolicyOptions(max_attempts=6, initial_delay=TINY, max_delay=TINY * 5),
            rate_limit=RateLimitOptions(burst=20, period=timedelta(seconds=0.05)),
        )
        client, limiter = stack.client, stack.rate_limiter
        assert limiter is not None
        titles = [f"w{n} #{k}" for n in range(3) for k in range(10)]

        async def writer(n: int, project: UUID) -> list[str]:
            return [(await client.create_work_item(task(project, f"w{n} #{k}"))).title for k in range(10)]

        async with asyncio.timeout(LIMIT * 3):
            await client.connect()
            project = await new_project(client)
            written = await asyncio.gather(*(writer(n, project) for n in range(3)))
            await client.aclose()
    assert sorted(t for titles_ in written for t in titles_) == sorted(titles)
    assert server.counters.rate_limited >= 1  # the server did refuse ...
    assert limiter.refusals_seen == server.counters.rate_limited  # ... and every warning was counted
    assert server.counters.rate_limit_closes == 0  # ... but never kicked the client
    assert limiter.period > timedelta(seconds=0.05)  # it learned a slower rate
    assert sorted(i.title for i in server.work_items(project)) == sorted(titles)  # none lost, none twice


async def test_a_rate_limit_close_fails_pending_requests_as_such_and_is_no_breaker_failure(
    tmp_path: Path,
) -> None:
    """A client that ignores the limit (its limiter is off) is kicked: the 1008 is classified."""
    async with PmTestServer(database=tmp_path / "pm.db", rate_limit=RateLimit(1, 60.0)) as server:
        limiter = RateLimiter(RateLimitOptions(burst=None))
        client = WebSocketClient(websocket_options(server, uuid4()), rate_limiter=limiter)
        async with asyncio.timeout(LIMIT), client:
            outcomes = await asyncio.gather(*(client.ping() for _ in range(6)), return_exceptions=True)
    assert isinstance(outcomes[0], timedelta)
    failures = outcomes[1:]
    assert all(isinstance(f, RateLimitClosedException) for f in failures), failures
    assert all(not is_breaker_failure(f) for f in failures if isinstance(f, BaseException))
    assert all(
        f.reason == "Rate limit exceeded 5 times. Connection closed."
        for f in failures
        if isinstance(f, RateLimitClosedException)
    )
    assert (limiter.refusals_seen, limiter.closes_seen) == (4, 1)
    assert server.counters.rate_limit_closes == 1
