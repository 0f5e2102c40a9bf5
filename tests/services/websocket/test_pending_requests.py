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


# ------------------------------------------------------------------ the default (loop) timer


async def test_with_asyncio_sleep_a_request_starts_no_task_and_times_out_on_the_loop_clock() -> None:
    pending, counts = make()  # asyncio.sleep: loop.call_later timers
    tasks_before = len(asyncio.all_tasks())
    async with asyncio.timeout(5), pending.track(A, "ListProjects") as call:
        waiting = asyncio.ensure_future(call.wait(timedelta(milliseconds=1)))
        await asyncio.sleep(0)  # let wait() start its timer
        assert len(asyncio.all_tasks()) == tasks_before + 1  # the waiter itself, no timer task
        try:
            await waiting
        except RequestTimeoutException as exc:
            error = exc
    assert (error.operation, error.timeout, error.message_id) == (
        "ListProjects",
        timedelta(milliseconds=1),
        A,
    )
    assert len(pending) == 0
    assert counts == [1, 0]
    assert pending.is_ours(A)
    assert not pending.resolve(A, "late")
    assert pending.late_answers == 1


async def test_with_asyncio_sleep_an_answer_cancels_the_timer() -> None:
    pending, counts = make()
    loop = asyncio.get_running_loop()
    async with pending.track(A, "Op") as call:
        loop.call_soon(pending.resolve, A, "answer")
        assert await call.wait(timedelta(milliseconds=1)) == "answer"
    # a timer left running would fire now and count the id as timed out: wait past its deadline
    done = loop.create_future()
    loop.call_later(0.005, done.set_result, None)
    async with asyncio.timeout(5):
        await done
    assert pending.late_answers == 0
    assert counts == [1, 0]


async def test_an_answer_already_there_is_returned_without_a_timer() -> None:
    time = FakeTime()
    pending, _ = make(time=time)
    async with pending.track(A, "Op") as call:
        pending.resolve(A, "early")
        assert await call.wait(TIMEOUT) == "early"
    assert time.sleepers == 0


async def test_the_count_never_drifts_through_every_way_out() -> None:
    time = FakeTime()
    pending, counts = make(limit=100, time=time)
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(40)]

    async def request(message_id: str) -> str:
        async with pending.track(message_id, "Op") as call:
            return await call.wait(TIMEOUT)

    tasks = {m: asyncio.create_task(request(m)) for m in ids}
    await time.wait_for_sleepers(len(ids))
    assert len(pending) == len(ids)
    for m in ids[0:10]:
        pending.resolve(m, "ok")
    for m in ids[10:20]:
        pending.reject(m, ValueError("no"))
    for m in ids[20:30]:
        tasks[m].cancel()
    await time.advance(30)  # the last ten time out
    results = await asyncio.gather(*tasks.values(), return_exceptions=True)
    assert results[0:10] == ["ok"] * 10
    assert all(isinstance(r, ValueError) for r in results[10:20])
    assert all(isinstance(r, asyncio.CancelledError) for r in results[20:30])
    assert all(isinstance(r, RequestTimeoutException) for r in results[30:40])
    assert len(pending) == 0
    assert counts[-1] == 0
    assert time.sleepers == 0
    assert all(pending.is_ours(m) for m in ids)


async def test_a_failed_registration_gives_its_slot_back() -> None:
    pending, _ = make(limit=2)
    async with asyncio.timeout(5):
        async with pending.track(A, "Op"):
            for _ in range(3):  # three refusals would exhaust two slots if they kept theirs
                with pytest.raises(ValidationException):
                    async with pending.track(A, "Op"):
                        pass
            async with pending.track(B, "Op"):
                assert len(pending) == 2
