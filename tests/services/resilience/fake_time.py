"""Fake monotonic time for resilience tests: sleeping advances the clock instead of waiting."""

from __future__ import annotations

import asyncio

__all__ = ["FakeTime", "ManualSleep"]


class FakeTime:
    """``clock()`` reads ``now``; ``await sleep(s)`` records ``s``, advances ``now`` and yields once."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class ManualSleep:
    """A sleep that blocks until the test releases it: for catching a loop mid-backoff."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.started = asyncio.Event()
        self._release = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.started.set()
        await self._release.wait()

    def release(self) -> None:
        self._release.set()
