"""``update_options``: the breaker, the retry policy and the reconnection service take new options live.

Fake time throughout; what is already running keeps working, the new numbers decide from then on.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import ConnectionException
from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker, CircuitState
from projectmanagement_services.resilience.options import (
    CircuitBreakerOptions,
    JitterMode,
    ReconnectionOptions,
    RetryPolicyOptions,
)
from projectmanagement_services.resilience.reconnection_service import ReconnectionService
from projectmanagement_services.resilience.retry_policy import RetryPolicy

from .fake_time import FakeTime, ManualSleep
from .fakes import FakeClock
from .test_reconnection_service import Recorder, connected_client, finish


def test_breaker_lower_threshold_counts_the_failures_already_in_the_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(CircuitBreakerOptions(failure_threshold=5), clock=clock)
    for _ in range(2):
        breaker.record_failure(ConnectionException("down"))
    assert breaker.state is CircuitState.CLOSED

    breaker.update_options(CircuitBreakerOptions(failure_threshold=3))
    assert breaker.state is CircuitState.CLOSED  # applying options alone changes no state
    breaker.record_failure(ConnectionException("down"))

    assert breaker.state is CircuitState.OPEN
    assert breaker.options.failure_threshold == 3


def test_breaker_new_open_duration_applies_to_the_next_open_period() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(
        CircuitBreakerOptions(failure_threshold=1, open_duration=timedelta(seconds=30)), clock=clock
    )
    breaker.record_failure(ConnectionException("down"))
    breaker.update_options(CircuitBreakerOptions(failure_threshold=1, open_duration=timedelta(seconds=5)))
    clock.advance(6)
    assert breaker.state is CircuitState.OPEN  # this period keeps the end it was given
    clock.advance(24)
    assert breaker.state is CircuitState.HALF_OPEN
    breaker.record_failure(ConnectionException("still down"))
    clock.advance(5)
    assert breaker.state is CircuitState.HALF_OPEN  # the next period is the new 5 s


def test_breaker_higher_threshold_keeps_older_failures_that_still_count() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(CircuitBreakerOptions(failure_threshold=2), clock=clock)
    breaker.record_failure(ConnectionException("down"))
    breaker.update_options(CircuitBreakerOptions(failure_threshold=3))
    breaker.record_failure(ConnectionException("down"))
    assert breaker.state is CircuitState.CLOSED
    breaker.record_failure(ConnectionException("down"))
    assert breaker.state is CircuitState.OPEN


async def test_retry_operation_in_flight_keeps_its_schedule_and_the_next_one_uses_the_new() -> None:
    sleep = ManualSleep()
    old = RetryPolicyOptions(max_attempts=2, initial_delay=timedelta(seconds=1), jitter=JitterMode.FULL)
    policy = RetryPolicy(old, sleep=sleep.sleep, random=lambda: 1.0)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionException("blip")
        return "ok"

    running = asyncio.create_task(policy.execute(flaky))
    await asyncio.wait_for(sleep.started.wait(), 5)
    policy.update_options(
        RetryPolicyOptions(
            max_attempts=4,
            initial_delay=timedelta(seconds=3),
            max_delay=timedelta(seconds=9),
            jitter=JitterMode.FULL,
        )
    )
    sleep.release()
    assert await asyncio.wait_for(running, 5) == "ok"
    assert sleep.sleeps == [1.0]  # the delay it started with

    failures = 0

    async def failing() -> str:
        nonlocal failures
        failures += 1
        raise ConnectionException("down")

    with pytest.raises(ConnectionException):
        await policy.execute(failing)
    assert failures == 4
    assert sleep.sleeps[1:] == [3.0, 6.0, 9.0]


async def test_reconnection_limit_changed_mid_outage_is_honoured() -> None:
    client = await connected_client()
    time = FakeTime()
    sleep = ManualSleep()
    service = ReconnectionService(
        client,
        ReconnectionOptions(max_attempts=10, initial_delay=timedelta(seconds=1)),
        clock=time.clock,
        sleep=sleep.sleep,
        random=lambda: 0.0,
    )
    events = Recorder(service)
    client.script("connect", *(ConnectionException("refused") for _ in range(10)))

    client.drop()
    await asyncio.wait_for(sleep.started.wait(), 5)
    service.update_options(
        ReconnectionOptions(
            max_attempts=2, initial_delay=timedelta(seconds=4), max_delay=timedelta(seconds=8)
        )
    )
    sleep.release()
    await finish(service)

    assert len(client.calls_of("connect")) == 2
    assert sleep.sleeps == [1.0, 8.0]  # the second delay on the new schedule (step 2: 4 x 2)
    assert len(events.failed) == 1
