"""Deadlines: one heap and one loop handle for every request timeout, on the real loop's clock.

Delays are short and every wait is bounded; nothing sleeps in the hope that something happened:
each test awaits the future that the callback under test completes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import RequestTimeoutException
from projectmanagement_services.websocket.deadlines import Deadlines
from projectmanagement_services.websocket.pending_requests import PendingRequests

BOUND_S = 5.0


async def test_deadlines_fire_in_time_order_and_cancelled_ones_never() -> None:
    deadlines = Deadlines()
    fired: list[str] = []
    done = asyncio.get_running_loop().create_future()

    def record(name: str) -> None:
        fired.append(name)
        if name == "last":
            done.set_result(None)

    deadlines.start(0.06, record, "last")
    deadlines.start(0.02, record, "second")
    deadlines.start(0.01, record, "first")
    deadlines.start(0.03, record, "cancelled").cancel()
    await asyncio.wait_for(done, BOUND_S)
    assert fired == ["first", "second", "last"]
    assert len(deadlines) == 0
    assert deadlines.stored == 0


async def test_a_callback_starting_a_later_deadline_does_not_delay_an_earlier_one() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    earlier_fired = loop.create_future()
    started = loop.time()

    def start_a_late_one() -> None:
        deadlines.start(30.0, lambda: None)

    deadlines.start(0.01, start_a_late_one)
    deadlines.start(0.05, lambda: earlier_fired.set_result(loop.time()))
    fired_at = await asyncio.wait_for(earlier_fired, BOUND_S)
    assert fired_at - started < 1.0  # on time, not when the 30 s one is due
    assert len(deadlines) == 1  # the late one is still waiting


async def test_cancelled_entries_are_compacted_so_the_heap_stays_bounded() -> None:
    deadlines = Deadlines()
    live = [deadlines.start(60.0, lambda: None) for _ in range(10)]
    for _ in range(10_000):
        deadlines.start(60.0, lambda: None).cancel()
    assert len(deadlines) == 10
    assert deadlines.stored <= 2 * 10 + 64
    for deadline in live:
        deadline.cancel()
        deadline.cancel()  # idempotent
    assert len(deadlines) == 0
    assert deadlines.stored <= 64


async def test_a_failing_callback_is_reported_and_the_others_still_fire() -> None:
    loop = asyncio.get_running_loop()
    reported: list[object] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context.get("exception")))
    try:
        deadlines = Deadlines()
        done = loop.create_future()
        boom = RuntimeError("boom")

        def fail() -> None:
            raise boom

        deadlines.start(0.01, fail)
        deadlines.start(0.01, lambda: done.set_result("fired"))
        assert await asyncio.wait_for(done, BOUND_S) == "fired"
        assert reported == [boom]
    finally:
        loop.set_exception_handler(None)


def test_deadlines_rearm_on_a_new_loop() -> None:
    """A handle armed on a loop that stopped never fires: the next loop gets its own."""
    deadlines = Deadlines()

    async def first() -> None:
        deadlines.start(0.001, lambda: None)  # armed, and still pending when this loop ends

    async def second() -> str:
        fired = asyncio.get_running_loop().create_future()
        deadlines.start(0.01, lambda: fired.set_result("fired"))
        return await asyncio.wait_for(fired, BOUND_S)

    asyncio.run(first())
    assert asyncio.run(second()) == "fired"


async def test_pending_requests_time_out_through_the_shared_deadlines() -> None:
    pending: PendingRequests[str] = PendingRequests(10)
    answered = pending.track("answered", "Ping")
    async with answered as call:
        assert pending.resolve("answered", "pong")
        assert await call.wait(timedelta(seconds=30)) == "pong"
    with pytest.raises(RequestTimeoutException):
        async with pending.track("silent", "GetWorkItems") as call:
            await asyncio.wait_for(call.wait(timedelta(milliseconds=20)), BOUND_S)
    assert len(pending) == 0
    assert pending.is_ours("silent")  # given up on: a late answer is recognised as ours
    deadlines = pending._deadlines
    assert deadlines is not None
    assert len(deadlines) == 0
