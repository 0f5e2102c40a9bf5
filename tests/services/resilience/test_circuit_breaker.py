"""CircuitBreaker: every rule of issue 5, driven by a fake clock (no real time passes)."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosedError

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    FieldError,
    RequestTimeoutException,
    ServerRejectedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_services.resilience.circuit_breaker import (
    HALF_OPEN_RETRY_AFTER,
    CircuitBreaker,
    CircuitState,
    CircuitStateChange,
)
from projectmanagement_services.resilience.options import CircuitBreakerOptions
from tests.services.resilience.fakes import FakeClock

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


def make(
    clock: FakeClock,
    *,
    threshold: int = 3,
    window: float = 60.0,
    open_s: float = 30.0,
    close_after: int = 2,
    probes: int = 1,
) -> tuple[CircuitBreaker, list[CircuitStateChange]]:
    options = CircuitBreakerOptions(
        failure_threshold=threshold,
        failure_window=timedelta(seconds=window),
        open_duration=timedelta(seconds=open_s),
        half_open_success_threshold=close_after,
        half_open_max_probes=probes,
    )
    breaker = CircuitBreaker(options, clock=clock)
    changes: list[CircuitStateChange] = []
    breaker.on_state_changed += changes.append
    return breaker, changes


def transitions(changes: list[CircuitStateChange]) -> list[tuple[CircuitState, CircuitState]]:
    return [(c.previous, c.current) for c in changes]


async def fail_with(breaker: CircuitBreaker, exc: BaseException) -> None:
    async def operation() -> None:
        raise exc

    with pytest.raises(type(exc)) as raised:
        await breaker.execute(operation)
    assert raised.value is exc  # passed through unchanged


async def succeed(breaker: CircuitBreaker, value: Any = "ok") -> Any:
    async def operation() -> Any:
        return value

    return await breaker.execute(operation)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- Closed -----------------------------------------------------------------------------------


async def test_closed_passes_results_through(clock: FakeClock) -> None:
    breaker, changes = make(clock)
    marker = object()
    assert await succeed(breaker, marker) is marker
    assert breaker.state is CLOSED
    assert breaker.retry_after is None
    assert changes == []


async def test_opens_after_threshold_failures_in_window(clock: FakeClock) -> None:
    breaker, changes = make(clock, threshold=3)
    await fail_with(breaker, ConnectionException())
    clock.advance(1)
    await fail_with(breaker, ConnectionException())
    assert breaker.state is CLOSED
    assert breaker.failure_count == 2
    tripping = ConnectionException("third")
    await fail_with(breaker, tripping)
    assert breaker.state is OPEN
    assert transitions(changes) == [(CLOSED, OPEN)]
    assert changes[0].error is tripping


async def test_failures_older_than_window_do_not_count(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=3, window=60)
    await fail_with(breaker, ConnectionException())  # t=0
    clock.advance(30)
    await fail_with(breaker, ConnectionException())  # t=30
    clock.advance(31)
    await fail_with(breaker, ConnectionException())  # t=61: the t=0 failure has left the window
    assert breaker.state is CLOSED
    assert breaker.failure_count == 2
    clock.advance(1)
    await fail_with(breaker, ConnectionException())  # t=62: 30, 61, 62 are inside one window
    assert breaker.state is OPEN


async def test_failure_exactly_one_window_old_still_counts(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=3, window=60)
    await fail_with(breaker, ConnectionException())
    clock.advance(30)
    await fail_with(breaker, ConnectionException())
    clock.advance(30)
    await fail_with(breaker, ConnectionException())
    assert breaker.state is OPEN


async def test_success_in_closed_does_not_erase_failures_in_window(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=3)
    for _ in range(2):
        await fail_with(breaker, ConnectionException())
        await succeed(breaker)
    assert breaker.failure_count == 2
    await fail_with(breaker, ConnectionException())
    assert breaker.state is OPEN


@pytest.mark.parametrize(
    "make_exc",
    [
        ConnectionException,
        lambda: RequestTimeoutException("GetWorkItem", timedelta(seconds=30)),
        lambda: ConnectionClosedError(None, None),
        lambda: OSError("connection refused"),
        TimeoutError,
        lambda: ServerRejectedException(ErrorCode.SERVICE_UNAVAILABLE, "busy"),
        lambda: ServerRejectedException(ErrorCode.TIMEOUT, "slow"),
        lambda: ServerRejectedException(ErrorCode.DATABASE_ERROR, "disk"),
        lambda: ServerRejectedException(ErrorCode.INTERNAL_ERROR, "bug"),
    ],
)
async def test_transport_errors_and_server_faults_are_failures(
    clock: FakeClock, make_exc: Callable[[], BaseException]
) -> None:
    breaker, _ = make(clock, threshold=2)
    await fail_with(breaker, make_exc())
    await fail_with(breaker, make_exc())
    assert breaker.state is OPEN


@pytest.mark.parametrize(
    "make_exc",
    [
        lambda: ValidationException(FieldError("title", "required")),
        lambda: VersionConflictException("id-1", 3, 4),
        lambda: ServerRejectedException(ErrorCode.NOT_FOUND, "no such item"),
        lambda: ServerRejectedException(ErrorCode.UNAUTHORIZED, "who are you"),
        lambda: ServerRejectedException(ErrorCode.DELETE_BLOCKED, "has children"),
        lambda: KeyError("a bug in the caller's code"),
    ],
)
async def test_healthy_answers_and_unknown_errors_are_not_failures(
    clock: FakeClock, make_exc: Callable[[], BaseException]
) -> None:
    breaker, changes = make(clock, threshold=2)
    for _ in range(5):
        await fail_with(breaker, make_exc())
    assert breaker.state is CLOSED
    assert breaker.failure_count == 0
    assert changes == []


async def test_cancellation_in_closed_is_not_a_failure(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=1)
    with pytest.raises(asyncio.CancelledError):
        await breaker.execute(_raise_cancelled)
    assert breaker.state is CLOSED


async def _raise_cancelled() -> None:
    raise asyncio.CancelledError


# -- Open ---------------------------------------------------------------------------------------


async def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.options.failure_threshold):
        await fail_with(breaker, ConnectionException())
    assert breaker.state is OPEN


async def test_open_rejects_without_calling_and_tells_time_left(clock: FakeClock) -> None:
    breaker, _ = make(clock, open_s=30)
    await trip(breaker)
    clock.advance(10)
    calls = 0

    async def operation() -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(CircuitOpenException) as raised:
        await breaker.execute(operation)
    assert calls == 0
    assert raised.value.retry_after == timedelta(seconds=20)
    assert raised.value.state == "Open"
    assert breaker.retry_after == timedelta(seconds=20)
    assert not breaker.allow_request()


async def test_becomes_half_open_lazily_once_open_duration_passed(clock: FakeClock) -> None:
    breaker, changes = make(clock, open_s=30)
    await trip(breaker)
    clock.advance(29.999)
    assert breaker.state is OPEN
    clock.advance(0.001)
    assert breaker.peek_state() is HALF_OPEN
    assert transitions(changes) == [(CLOSED, OPEN)]  # peeking performs no transition
    assert breaker.state is HALF_OPEN
    assert breaker.retry_after is None
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]


# -- HalfOpen -------------------------------------------------------------------------------------


async def test_closed_open_half_open_closed_cycle(clock: FakeClock) -> None:
    breaker, changes = make(clock, open_s=30, close_after=3)
    await trip(breaker)
    clock.advance(30)
    await succeed(breaker)
    await succeed(breaker)
    assert breaker.state is HALF_OPEN
    await succeed(breaker)
    assert breaker.state is CLOSED
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]
    assert breaker.failure_count == 0  # the window starts empty after closing


async def test_failure_in_half_open_reopens_for_another_open_duration(clock: FakeClock) -> None:
    breaker, changes = make(clock, open_s=30, close_after=3)
    await trip(breaker)
    clock.advance(30)
    await succeed(breaker)
    probe_error = RequestTimeoutException("GetWorkItem", timedelta(seconds=5))
    await fail_with(breaker, probe_error)
    assert breaker.state is OPEN
    assert breaker.retry_after == timedelta(seconds=30)
    assert changes[-1] == CircuitStateChange(HALF_OPEN, OPEN, probe_error)
    clock.advance(30)
    assert breaker.state is HALF_OPEN


async def test_half_open_admits_at_most_max_probes(clock: FakeClock) -> None:
    breaker, _ = make(clock, probes=2, close_after=5)
    await trip(breaker)
    clock.advance(30)
    gate = asyncio.Event()
    started = 0

    async def slow_probe() -> str:
        nonlocal started
        started += 1
        await gate.wait()
        return "ok"

    async with asyncio.timeout(5):
        probes = [asyncio.create_task(breaker.execute(slow_probe)) for _ in range(2)]
        while started < 2:
            await asyncio.sleep(0)
        assert breaker.probes_in_flight == 2
        with pytest.raises(CircuitOpenException) as raised:
            await breaker.execute(slow_probe)
        assert timedelta(0) < raised.value.retry_after == HALF_OPEN_RETRY_AFTER < timedelta(seconds=30)
        assert raised.value.state == "HalfOpen"
        assert breaker.retry_after is None  # only an Open breaker has a retry_after
        gate.set()
        assert await asyncio.gather(*probes) == ["ok", "ok"]
    assert started == 2
    assert breaker.probes_in_flight == 0
    assert breaker.allow_request()


async def test_cancelled_probe_releases_its_slot_and_counts_as_nothing(clock: FakeClock) -> None:
    breaker, changes = make(clock, probes=1, close_after=1)
    await trip(breaker)
    clock.advance(30)
    started = asyncio.Event()

    async def hanging_probe() -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes on its own

    async with asyncio.timeout(5):
        probe = asyncio.create_task(breaker.execute(hanging_probe))
        await started.wait()
        assert breaker.probes_in_flight == 1
        assert not breaker.allow_request()
        probe.cancel()
        with pytest.raises(asyncio.CancelledError):
            await probe
    assert breaker.probes_in_flight == 0
    assert breaker.state is HALF_OPEN  # neither a success nor a failure
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]
    await succeed(breaker)  # the slot is free again, and one success closes (close_after=1)
    assert breaker.state is CLOSED


async def test_non_failure_error_in_half_open_releases_probe_only(clock: FakeClock) -> None:
    breaker, _ = make(clock, probes=1, close_after=2)
    await trip(breaker)
    clock.advance(30)
    await fail_with(breaker, ValidationException(FieldError("title", "required")))
    assert breaker.state is HALF_OPEN
    assert breaker.probes_in_flight == 0
    await succeed(breaker)
    assert breaker.state is HALF_OPEN  # the validation error did not count as a success either
    await succeed(breaker)
    assert breaker.state is CLOSED


async def test_outcome_of_call_admitted_before_a_transition_is_ignored(clock: FakeClock) -> None:
    breaker, changes = make(clock, threshold=2, close_after=1)
    gate = asyncio.Event()
    straggler_error = ConnectionException("late")

    async def straggler() -> None:
        await gate.wait()
        raise straggler_error

    async with asyncio.timeout(5):
        task = asyncio.create_task(breaker.execute(straggler))
        await asyncio.sleep(0)  # admitted while Closed
        await trip(breaker)
        clock.advance(30)
        assert breaker.state is HALF_OPEN
        gate.set()
        with pytest.raises(ConnectionException) as raised:
            await task
    assert raised.value is straggler_error
    assert breaker.state is HALF_OPEN  # old news does not re-open the fresh probe period
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, HALF_OPEN)]


# -- manual API ---------------------------------------------------------------------------------


def test_allow_request_reserves_a_probe_slot_in_half_open(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=1, probes=1, close_after=2)
    assert breaker.allow_request()
    breaker.record_failure(ConnectionException())
    assert breaker.state is OPEN
    clock.advance(30)
    assert breaker.allow_request()
    assert breaker.probes_in_flight == 1
    assert not breaker.allow_request()
    breaker.record_success()
    assert breaker.probes_in_flight == 0
    assert breaker.state is HALF_OPEN
    assert breaker.allow_request()
    breaker.record_failure(asyncio.CancelledError())  # a non-failure only releases the slot
    assert breaker.state is HALF_OPEN
    assert breaker.allow_request()
    breaker.record_success()
    assert breaker.state is CLOSED


def test_record_failure_without_exception_counts(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=2)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is OPEN


def test_permit_outcome_after_transition_is_ignored(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=1, probes=1)
    breaker.record_failure()
    clock.advance(30)
    old_probe = breaker.acquire()
    breaker.record_failure()  # another caller's failure re-opens
    clock.advance(30)
    new_probe = breaker.acquire()
    assert breaker.probes_in_flight == 1
    breaker.record_success(permit=old_probe)  # must not free the new period's slot
    assert breaker.probes_in_flight == 1
    with pytest.raises(CircuitOpenException):
        breaker.acquire()
    breaker.record_success(permit=new_probe)
    assert breaker.probes_in_flight == 0


# -- operators and events -----------------------------------------------------------------------


async def test_isolate_holds_open_until_reset(clock: FakeClock) -> None:
    breaker, changes = make(clock, open_s=30)
    breaker.isolate()
    assert breaker.state is OPEN
    assert breaker.is_isolated
    clock.advance(3600)
    assert breaker.state is OPEN
    assert breaker.peek_state() is OPEN
    assert breaker.retry_after == timedelta(seconds=30)  # no end known: come back after OpenDuration
    with pytest.raises(CircuitOpenException):
        await succeed(breaker)
    breaker.isolate()  # idempotent: no second event
    breaker.reset()
    assert breaker.state is CLOSED
    assert not breaker.is_isolated
    assert await succeed(breaker) == "ok"
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, CLOSED)]


async def test_reset_clears_failure_window(clock: FakeClock) -> None:
    breaker, changes = make(clock, threshold=3)
    await fail_with(breaker, ConnectionException())
    await fail_with(breaker, ConnectionException())
    breaker.reset()
    assert breaker.failure_count == 0
    await fail_with(breaker, ConnectionException())
    assert breaker.state is CLOSED
    assert changes == []  # resetting a Closed breaker is not a transition


async def test_state_changed_emitted_once_per_transition(clock: FakeClock) -> None:
    breaker, changes = make(clock, threshold=1, close_after=1)
    await fail_with(breaker, ConnectionException())
    with pytest.raises(CircuitOpenException):  # rejected: no new transition
        await fail_with(breaker, ConnectionException())
    clock.advance(30)
    for _ in range(3):
        assert breaker.state is HALF_OPEN
    _ = breaker.retry_after
    await succeed(breaker)
    for _ in range(3):
        assert breaker.state is CLOSED
    assert transitions(changes) == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


async def test_handler_may_call_back_into_the_breaker(clock: FakeClock) -> None:
    breaker, _ = make(clock, threshold=1)
    seen: list[tuple[CircuitState, bool]] = []
    breaker.on_state_changed += lambda change: seen.append((breaker.state, breaker.allow_request()))
    async with asyncio.timeout(5):  # a handler run under the state lock would deadlock here
        await fail_with(breaker, ConnectionException())
    assert seen == [(OPEN, False)]


def test_rejects_invalid_options() -> None:
    with pytest.raises(ValueError, match=r"FailureThreshold|failure_threshold"):
        CircuitBreakerOptions(failure_threshold=0)


# -- thread and task safety ---------------------------------------------------------------------


async def test_eight_threads_and_a_thousand_tasks_keep_the_invariants() -> None:
    """Threads use the manual API (half with permits), tasks use execute(); time races forward."""
    clock = FakeClock()
    max_probes = 2
    breaker, changes = make(clock, threshold=3, window=1.0, open_s=0.05, close_after=2, probes=max_probes)
    valid_states = set(CircuitState)
    violations: list[str] = []

    def check() -> None:
        if not 0 <= breaker.probes_in_flight <= max_probes:
            violations.append(f"probes in flight {breaker.probes_in_flight}")
        if breaker.peek_state() not in valid_states:
            violations.append(f"state {breaker.peek_state()!r}")

    thread_counts = [[0, 0, 0] for _ in range(8)]  # attempted, admitted, rejected

    def hammer(index: int) -> None:
        rnd = random.Random(index)
        counts = thread_counts[index]
        with_permits = index % 2 == 0
        for _ in range(1500):
            counts[0] += 1
            clock.advance(0.002)
            if with_permits:
                try:
                    permit = breaker.acquire()
                except CircuitOpenException as exc:
                    counts[2] += 1
                    if exc.retry_after <= timedelta(0):
                        violations.append(f"retry_after {exc.retry_after}")
                    continue
            elif breaker.allow_request():
                permit = None
            else:
                counts[2] += 1
                continue
            counts[1] += 1
            check()
            if rnd.random() < 0.4:
                breaker.record_failure(ConnectionException(), permit=permit)
            elif rnd.random() < 0.1:
                breaker.record_failure(asyncio.CancelledError(), permit=permit)
            else:
                breaker.record_success(permit=permit)

    task_counts = [0, 0, 0]  # attempted, admitted, rejected

    async def operation(fail: bool) -> None:
        task_counts[1] += 1
        check()
        await asyncio.sleep(0)
        check()
        if fail:
            raise ConnectionException()

    async def worker(index: int) -> None:
        rnd = random.Random(1000 + index)
        for _ in range(5):
            task_counts[0] += 1
            fail = rnd.random() < 0.4
            try:
                await breaker.execute(lambda fail=fail: operation(fail))
            except CircuitOpenException:
                task_counts[2] += 1
            except ConnectionException:
                pass

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    async with asyncio.timeout(30):
        for thread in threads:
            thread.start()
        await asyncio.gather(*(worker(i) for i in range(1000)))
        for thread in threads:
            await asyncio.to_thread(thread.join, 20)
    assert not any(thread.is_alive() for thread in threads)

    assert violations == []
    for attempted, admitted, rejected in [*thread_counts, task_counts]:
        assert attempted > 0
        assert admitted + rejected == attempted
    assert task_counts[0] == 5000
    assert sum(c[0] for c in thread_counts) == 8 * 1500
    assert breaker.probes_in_flight == 0  # every admitted call ended, so no slot may stay taken
    # Events arrive in transition order: each starts where the previous one ended.
    assert changes, "the load must actually drive the breaker through its states"
    assert changes[0].previous is CLOSED
    for before, after in itertools.pairwise(changes):
        assert after.previous is before.current
    assert changes[-1].current is breaker.peek_state() or breaker.peek_state() is HALF_OPEN
    kinds = set(transitions(changes))
    assert {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED), (HALF_OPEN, OPEN)} <= kinds
