"""RetryPolicy: what is retried, how long it waits, and what reaches the caller (fake sleep only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

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
from projectmanagement_services.resilience.options import JitterMode, RetryPolicyOptions
from projectmanagement_services.resilience.retry_policy import RetryAttempt, RetryPolicy
from tests.services.resilience.fakes import FakeClock


class Script:
    """An operation that raises the scripted exceptions in turn, then returns ``result``."""

    def __init__(self, *outcomes: BaseException, result: object = "done") -> None:
        self.outcomes = list(outcomes)
        self.result = result
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return self.result


def policy(
    clock: FakeClock, *, attempts: int = 3, random: Callable[[], float] = lambda: 0.0, **kw: object
) -> RetryPolicy:
    options = RetryPolicyOptions(max_attempts=attempts, **kw)  # type: ignore[arg-type]
    return RetryPolicy(options, sleep=clock.sleep, random=random)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_success_first_time_does_not_sleep(clock: FakeClock) -> None:
    op = Script(result=42)
    assert await policy(clock).execute(op) == 42
    assert op.calls == 1
    assert clock.sleeps == []


async def test_retries_transient_errors_with_the_backoff_schedule(clock: FakeClock) -> None:
    op = Script(ConnectionException(), RequestTimeoutException("Get", timedelta(seconds=1)), result="ok")
    assert await policy(clock, attempts=3, random=lambda: 0.5).execute(op) == "ok"
    assert op.calls == 3
    assert clock.sleeps == pytest.approx([0.1125, 0.225])


async def test_never_sleeps_after_the_last_attempt_and_reraises_it_unchanged(clock: FakeClock) -> None:
    errors = [ConnectionException("one"), ConnectionException("two"), ConnectionException("three")]
    op = Script(*errors)
    with pytest.raises(ConnectionException) as raised:
        await policy(clock, attempts=3).execute(op)
    assert raised.value is errors[2]
    assert raised.value.__context__ is None  # not chained to the earlier attempts' errors
    assert op.calls == 3
    assert clock.sleeps == pytest.approx([0.1, 0.2])  # two waits for three attempts


async def test_single_attempt_policy_never_retries(clock: FakeClock) -> None:
    error = ConnectionException()
    with pytest.raises(ConnectionException) as raised:
        await policy(clock, attempts=1).execute(Script(error))
    assert raised.value is error
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "make_exc",
    [
        lambda: ValidationException(FieldError("title", "required")),
        lambda: VersionConflictException("id-1", 3, 4),
        lambda: CircuitOpenException(timedelta(seconds=5)),
        lambda: ServerRejectedException(ErrorCode.NOT_FOUND, "gone"),
        lambda: ServerRejectedException(ErrorCode.DATABASE_ERROR, "disk"),
        lambda: ServerRejectedException(ErrorCode.INTERNAL_ERROR, "bug"),
        lambda: KeyError("caller bug"),
    ],
)
async def test_non_transient_errors_are_not_retried(
    clock: FakeClock, make_exc: Callable[[], BaseException]
) -> None:
    error = make_exc()
    op = Script(error)
    with pytest.raises(type(error)) as raised:
        await policy(clock, attempts=5).execute(op)
    assert raised.value is error
    assert op.calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("code", [ErrorCode.SERVICE_UNAVAILABLE, ErrorCode.TIMEOUT])
async def test_server_try_again_codes_are_retried(clock: FakeClock, code: str) -> None:
    op = Script(ServerRejectedException(code, "later"))
    assert await policy(clock).execute(op) == "done"
    assert op.calls == 2


async def test_cancellation_during_backoff_propagates_at_once() -> None:
    sleeping = asyncio.Event()
    requested: list[float] = []

    async def blocking_sleep(seconds: float) -> None:
        requested.append(seconds)
        sleeping.set()
        await asyncio.Event().wait()  # only cancellation ends this

    op = Script(ConnectionException(), ConnectionException())
    retry = RetryPolicy(RetryPolicyOptions(max_attempts=5), sleep=blocking_sleep, random=lambda: 0.0)
    async with asyncio.timeout(5):
        task = asyncio.create_task(retry.execute(op))
        await sleeping.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert op.calls == 1
    assert requested == [pytest.approx(0.1)]


async def test_cancellation_inside_the_operation_is_not_retried(clock: FakeClock) -> None:
    op = Script(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await policy(clock, attempts=5).execute(op)
    assert op.calls == 1
    assert clock.sleeps == []


async def test_on_retry_hook_sees_each_retry(clock: FakeClock) -> None:
    first, second = ConnectionException("a"), OSError("b")
    seen: list[RetryAttempt] = []
    await policy(clock, attempts=3).execute(
        Script(first, second), operation_name="GetWorkItem", on_retry=seen.append
    )
    assert seen == [
        RetryAttempt("GetWorkItem", 1, timedelta(milliseconds=100), first),
        RetryAttempt("GetWorkItem", 2, timedelta(milliseconds=200), second),
    ]


async def test_failing_hook_does_not_stop_the_retry(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_: RetryAttempt) -> None:
        raise RuntimeError("hook bug")

    op = Script(ConnectionException())
    assert await policy(clock).execute(op, on_retry=broken) == "done"
    assert op.calls == 2
    assert "hook" in caplog.text


async def test_decorrelated_mode_feeds_the_previous_delay_back(clock: FakeClock) -> None:
    retry = policy(
        clock,
        attempts=4,
        random=lambda: 0.5,
        initial_delay=timedelta(seconds=1),
        max_delay=timedelta(seconds=30),
        jitter=JitterMode.DECORRELATED,
    )
    await retry.execute(Script(ConnectionException(), ConnectionException(), ConnectionException()))
    assert clock.sleeps == pytest.approx([2.0, 3.5, 5.75])


async def test_policy_is_safe_to_share_between_concurrent_operations(clock: FakeClock) -> None:
    retry = policy(clock, attempts=3)
    ops = [Script(ConnectionException(), result=i) for i in range(50)]
    async with asyncio.timeout(5):
        results = await asyncio.gather(*(retry.execute(op) for op in ops))
    assert results == list(range(50))
    assert all(op.calls == 2 for op in ops)
    assert clock.sleeps == pytest.approx([0.1] * 50)  # each operation starts its own schedule


async def test_operation_is_called_afresh_per_attempt(clock: FakeClock) -> None:
    made: list[object] = []

    async def attempt() -> int:
        made.append(object())
        if len(made) < 3:
            raise ConnectionException()
        return len(made)

    assert await policy(clock).execute(attempt) == 3
