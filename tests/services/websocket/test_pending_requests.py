"""PendingRequests: correlation, timeouts, fail_all, late answers, backpressure (fake timer)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import (
    ConnectionException,
    RequestTimeoutException,
    ValidationException,
)
from projectmanagement_services.websocket.pending_requests import PendingRequests
from tests.services.websocket.fakes import FakeTime

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
C = "00000000-0000-4000-8000-00000000000c"
TIMEOUT = timedelta(seconds=30)


def make(limit: int = 10, time: FakeTime | None = None) -> tuple[PendingRequests[str], list[int]]:
    counts: list[int] = []
    sleep = time.sleep if time is not None else asyncio.sleep
    return PendingRequests(limit, sleep=sleep, on_count_changed=counts.append), counts


async def test_resolve_delivers_the_answer_and_the_count_returns_to_zero() -> None:
    pending, counts = make()
    async with pending.track(A, "Op") as call:
        assert A in pending
        assert pending.resolve(A, "answer")
        assert await call.wait(TIMEOUT) == "answer"
    assert len(pending) == 0
    assert counts == [1, 0]


async def test_answers_are_correlated_by_id_in_any_order() -> None:
    pending, _ = make()

    async def request(message_id: str) -> str:
        async with pending.track(message_id, "Op") as call:
            return await call.wait(TIMEOUT)

    tasks = [asyncio.create_task(request(m)) for m in (A, B, C)]
    while len(pending) < 3:
        await asyncio.sleep(0)
    for message_id in (C, A, B):
        assert pending.resolve(message_id, f"answer-{message_id}")
    assert await asyncio.gather(*tasks) == [f"answer-{m}" for m in (A, B, C)]


async def test_timeout_raises_with_operation_timeout_and_id_and_removes_the_entry() -> None:
    time = FakeTime()
    pending, counts = make(time=time)

    async def request() -> str:
        async with pending.track(A, "CreateWorkItem") as call:
            return await call.wait(TIMEOUT)

    task = asyncio.create_task(request())
    await time.wait_for_sleepers(1)
    await time.advance(29.999)
    assert not task.done()
    await time.advance(0.001)
    with pytest.raises(RequestTimeoutException) as info:
        await task
    assert (info.value.operation, info.value.timeout, info.value.message_id) == ("CreateWorkItem", TIMEOUT, A)
    assert len(pending) == 0
    assert counts[-1] == 0


async def test_late_answer_after_timeout_is_counted_dropped_and_still_recognised_as_ours() -> None:
    time = FakeTime()
    pending, _ = make(time=time)

    async def request() -> str:
        async with pending.track(A, "Op") as call:
            return await call.wait(TIMEOUT)

    task = asyncio.create_task(request())
    await time.wait_for_sleepers(1)
    await time.advance(30)
    with pytest.raises(RequestTimeoutException):
        await task
    assert pending.is_ours(A)
    assert not pending.resolve(A, "late")
    assert pending.late_answers == 1
    assert not pending.is_ours(B)


async def test_fail_all_fails_every_waiter_at_once_with_its_own_exception() -> None:
    pending, counts = make()

    async def request(message_id: str) -> str:
        async with pending.track(message_id, "Op") as call:
            return await call.wait(TIMEOUT)

    tasks = [asyncio.create_task(request(m)) for m in (A, B)]
    while len(pending) < 2:
        await asyncio.sleep(0)
    assert pending.fail_all(lambda: ConnectionException("gone", close_code=1008)) == 2
    assert len(pending) == 0
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConnectionException) and r.close_code == 1008 for r in results)
    assert results[0] is not results[1]
    assert counts[-1] == 0
    assert pending.fail_all(ConnectionException("again")) == 0


async def test_fail_all_before_the_caller_waits_is_raised_by_wait() -> None:
    pending, _ = make()
    async with pending.track(A, "Op") as call:
        pending.fail_all(ConnectionException("gone"))
        with pytest.raises(ConnectionException):
            await call.wait(TIMEOUT)


async def test_a_failure_nobody_awaits_is_not_reported_as_unretrieved() -> None:
    pending, _ = make()
    async with pending.track(A, "Op"):
        pending.fail_all(ConnectionException("gone"))
    # leaving without awaiting must not leave an unretrieved exception (filterwarnings=error)
    assert len(pending) == 0


async def test_reject_fails_one_request_only() -> None:
    pending, _ = make()
    async with pending.track(A, "Op") as call_a, pending.track(B, "Op") as call_b:
        assert pending.reject(A, ValueError("bad"))
        assert pending.resolve(B, "ok")
        with pytest.raises(ValueError, match="bad"):
            await call_a.wait(TIMEOUT)
        assert await call_b.wait(TIMEOUT) == "ok"
    assert not pending.reject(C, ValueError("nobody"))


async def test_a_duplicate_id_in_flight_is_rejected() -> None:
    pending, _ = make()
    async with pending.track(A, "Op"):
        with pytest.raises(ValidationException):
            async with pending.track(A, "Op"):
                pass
        assert len(pending) == 1


async def test_a_cancelled_caller_leaves_no_entry_and_its_id_stays_ours() -> None:
    pending, counts = make()

    async def request() -> str:
        async with pending.track(A, "Op") as call:
            return await call.wait(TIMEOUT)

    task = asyncio.create_task(request())
    while A not in pending:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(pending) == 0
    assert counts[-1] == 0
    assert pending.is_ours(A)


async def test_backpressure_the_caller_beyond_the_limit_waits_for_a_slot() -> None:
    pending, _ = make(limit=2)
    entered: list[str] = []

    async def request(message_id: str) -> str:
        async with pending.track(message_id, "Op") as call:
            entered.append(message_id)
            return await call.wait(TIMEOUT)

    tasks = [asyncio.create_task(request(m)) for m in (A, B, C)]
    while len(entered) < 2:
        await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    assert entered == [A, B]
    assert len(pending) == 2
    pending.resolve(A, "a")
    while len(entered) < 3:
        await asyncio.sleep(0)
    assert entered == [A, B, C]
    assert len(pending) <= 2
    pending.resolve(B, "b")
    pending.resolve(C, "c")
    assert await asyncio.gather(*tasks) == ["a", "b", "c"]


async def test_remembered_ids_are_bounded() -> None:
    pending: PendingRequests[str] = PendingRequests(10, remembered=2)
    for message_id in (A, B, C):
        async with pending.track(message_id, "Op"):
            pending.resolve(message_id, "x")
    assert not pending.is_ours(A)
    assert pending.is_ours(B)
    assert pending.is_ours(C)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        PendingRequests(0)
