"""Time as a dependency: every component that waits or measures takes these, so tests drive time.

Durations always come from a monotonic clock, never the wall clock (design.md section 3).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

__all__ = [
    "Clock",
    "MonotonicClock",
    "RandomSource",
    "SleepFunction",
    "SystemClock",
    "default_clock",
    "default_random",
    "default_sleep",
]

#: Monotonic seconds.
MonotonicClock = Callable[[], float]
#: ``await sleep(seconds)``.
SleepFunction = Callable[[float], Awaitable[None]]
#: Uniform float in [0, 1).
RandomSource = Callable[[], float]

default_clock: MonotonicClock = time.monotonic
default_sleep: SleepFunction = asyncio.sleep
default_random: RandomSource = random.random


class Clock(Protocol):
    """A clock that can also wait: what the heartbeat and reconnection loops need."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
