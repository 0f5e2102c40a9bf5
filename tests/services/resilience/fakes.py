"""Deterministic time for resilience tests: a clock that moves only when told to."""

from __future__ import annotations

import asyncio
import threading

__all__ = ["FakeClock"]


class FakeClock:
    """Monotonic seconds that advance only through ``advance()`` or ``sleep()``.

    Callable (``clock()``) so it can be passed wherever a ``MonotonicClock`` is expected, and
    thread-safe so several threads may advance it at once. ``sleep()`` records each requested delay,
    advances the clock by it and yields once to the event loop (so cancellation can land there).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)
