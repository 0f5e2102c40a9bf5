"""One-shot timers driven either by the event loop's clock or by an injected ``sleep``.

Every request needs a timeout, so the timer sits on the hot path. With the default
``asyncio.sleep`` a timer is ``loop.call_later``: a heap entry, no task. Components that take an
injectable ``sleep`` (design.md section 3) must still honour a fake one in tests, and only a task
that awaits that ``sleep`` can; such timers cost a task each. Both kinds are started the same way
and cancelled with ``cancel()``, so the code that uses them has one path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from projectmanagement_services.clock import SleepFunction

__all__ = ["StartTimer", "Timer", "timer_starter"]


class Timer(Protocol):
    """A started timer; ``cancel()`` is idempotent and harmless after the timer fired."""

    def cancel(self) -> object: ...


#: ``start(delay_seconds, callback, *args)``: call ``callback(*args)`` once, after the delay.
StartTimer = Callable[..., Timer]


def timer_starter(sleep: SleepFunction) -> StartTimer:
    """How to start timers that wait as ``sleep`` would.

    ``asyncio.sleep`` waits on the loop's clock, so ``loop.call_later`` waits the same and needs no
    task; any other ``sleep`` (a fake clock, a wrapper) is awaited in a task.
    """
    if sleep is asyncio.sleep:
        return _call_later

    def start(delay: float, callback: Callable[..., object], *args: object) -> Timer:
        return asyncio.get_running_loop().create_task(_sleep_then_call(sleep, delay, callback, args))

    return start


def _call_later(delay: float, callback: Callable[..., object], *args: object) -> Timer:
    return asyncio.get_running_loop().call_later(delay, callback, *args)


async def _sleep_then_call(
    sleep: SleepFunction, delay: float, callback: Callable[..., object], args: tuple[object, ...]
) -> None:
    await sleep(delay)
    callback(*args)
