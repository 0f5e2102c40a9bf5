"""timer_starter: the loop's own timers for asyncio.sleep, a task over any injected sleep."""

from __future__ import annotations

import asyncio

from projectmanagement_services.websocket.timers import timer_starter
from tests.services.websocket.fakes import FakeTime


async def test_asyncio_sleep_gives_loop_timers_and_no_task() -> None:
    start = timer_starter(asyncio.sleep)
    fired = asyncio.get_running_loop().create_future()
    tasks_before = len(asyncio.all_tasks())
    timer = start(0.0, fired.set_result, "fired")
    assert isinstance(timer, asyncio.TimerHandle)
    assert len(asyncio.all_tasks()) == tasks_before
    async with asyncio.timeout(5):
        assert await fired == "fired"


async def test_an_injected_sleep_drives_the_timer() -> None:
    time = FakeTime()
    calls: list[str] = []
    start = timer_starter(time.sleep)
    start(10.0, calls.append, "fired")
    await time.wait_for_sleepers(1)
    await time.advance(9.999)
    assert calls == []
    await time.advance(0.001)
    assert calls == ["fired"]
    assert time.sleepers == 0


async def test_a_cancelled_timer_never_calls_back() -> None:
    time = FakeTime()
    calls: list[str] = []
    fake = timer_starter(time.sleep)(10.0, calls.append, "fake")
    await time.wait_for_sleepers(1)
    fake.cancel()
    await time.advance(10)
    real = timer_starter(asyncio.sleep)(0.0, calls.append, "real")
    real.cancel()
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.001, done.set_result, None)  # a later timer: "real" would be due
    async with asyncio.timeout(5):
        await done
    assert calls == []
    assert time.sleepers == 0
