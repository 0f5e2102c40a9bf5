"""The circuit breaker opens under a server outage and recovers after it (breaker on fake time)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ServerRejectedException,
)
from projectmanagement_core.models import ConnectionState
from projectmanagement_services.resilience import CircuitBreakerOptions, CircuitState, RetryPolicyOptions
from projectmanagement_services.testing import PmTestServer

from .conftest import LIMIT, TINY, build_stack, new_project, wait_for_state

OPEN_FOR = 30.0  # seconds of *fake* breaker time


def breaker_options() -> CircuitBreakerOptions:
    return CircuitBreakerOptions(
        failure_threshold=3,
        open_duration=timedelta(seconds=OPEN_FOR),
        half_open_success_threshold=1,
        failure_window=timedelta(seconds=60),
    )


async def test_breaker_opens_under_service_unavailable_and_recovers_after_open_duration(
    server: PmTestServer,
) -> None:
    stack = build_stack(
        server, breaker=breaker_options(), retry=RetryPolicyOptions(max_attempts=2, initial_delay=TINY)
    )
    client, breaker = stack.client, stack.breaker
    async with asyncio.timeout(LIMIT):
        await client.connect()
        project = await new_project(client)

        server.faults.fail_requests(6, code="SERVICE_UNAVAILABLE")  # 3 operations x 2 attempts
        for _ in range(3):
            with pytest.raises(ServerRejectedException) as raised:
                await client.get_work_items(project)
            assert raised.value.code == "SERVICE_UNAVAILABLE"
        assert breaker.state is CircuitState.OPEN

        before = server.counters.requests_by_type["get_work_items_request"]
        with pytest.raises(CircuitOpenException) as rejected:
            await client.get_work_items(project)
        assert rejected.value.retry_after == timedelta(seconds=OPEN_FOR)
        assert server.counters.requests_by_type["get_work_items_request"] == before  # never sent

        stack.breaker_time.advance(OPEN_FOR)  # the outage is over and the breaker may probe
        assert await client.get_work_items(project) == []
        assert breaker.state is CircuitState.CLOSED

    otel = stack.otel
    transitions = {
        (dict(p.attributes)["pm.circuit.from"], dict(p.attributes)["pm.circuit.to"]): p.value
        for p in otel.points("pm.resilience.circuit.transitions")
    }
    assert transitions == {("Closed", "Open"): 1, ("Open", "HalfOpen"): 1, ("HalfOpen", "Closed"): 1}
    assert otel.counter_by("pm.resilience.circuit.rejections", "rpc.method") == {"GetWorkItems": 1}
    assert otel.counter_by("pm.resilience.retry.attempts", "error.type") == {"SERVICE_UNAVAILABLE": 3}
    spans = otel.spans("pm GetWorkItems")
    assert [dict(s.attributes or {}).get("error.type") for s in spans] == [
        "SERVICE_UNAVAILABLE",
        "SERVICE_UNAVAILABLE",
        "SERVICE_UNAVAILABLE",
        "CircuitOpenException",
        None,
    ]
    assert [dict(s.attributes or {})["pm.circuit.state"] for s in spans] == [
        "Closed",
        "Closed",
        "Open",
        "Open",
        "Closed",
    ]
    assert "pm.circuit.rejected" in [e.name for e in spans[3].events]
    durations = {
        (dict(p.attributes)["rpc.method"], dict(p.attributes).get("error.type")): p.count
        for p in otel.points("pm.client.operation.duration")
    }
    assert durations == {  # once per operation, whatever its attempts
        ("CreateProject", None): 1,
        ("GetWorkItems", "SERVICE_UNAVAILABLE"): 3,
        ("GetWorkItems", "CircuitOpenException"): 1,
        ("GetWorkItems", None): 1,
    }
    await client.aclose()


async def test_breaker_opens_while_the_server_is_down_and_closes_once_it_is_back(
    server: PmTestServer,
) -> None:
    gate = asyncio.Event()

    async def held_reconnect(_seconds: float) -> None:
        await gate.wait()

    stack = build_stack(
        server,
        breaker=breaker_options(),
        retry=RetryPolicyOptions(max_attempts=1, initial_delay=TINY),
        reconnect_sleep=held_reconnect,
    )
    client, breaker = stack.client, stack.breaker
    reconnected = asyncio.Event()
    stack.reconnection.on_reconnected.subscribe(lambda _: reconnected.set())
    async with asyncio.timeout(LIMIT):
        await client.connect()
        project = await new_project(client)
        await client.subscribe([project])

        await server.stop()
        await wait_for_state(stack.inner, ConnectionState.RECONNECTING)
        for _ in range(3):
            with pytest.raises(ConnectionException):
                await client.get_sprints(project)
        assert breaker.state is CircuitState.OPEN
        with pytest.raises(CircuitOpenException):
            await client.get_sprints(project)

        await server.start()
        gate.set()
        await reconnected.wait()
        stack.breaker_time.advance(OPEN_FOR)
        assert await client.get_sprints(project) == []

    assert breaker.state is CircuitState.CLOSED
    await client.aclose()
