"""Request deadlines on the loop's clock: one heap and one ``call_at`` handle per connection.

Every request has a timeout. A ``loop.call_later`` per request costs a ``TimerHandle``, a push on
the loop's heap and, when the answer comes first (almost always), a cancelled handle that stays in
that heap until its time. Here the deadlines of one ``PendingRequests`` share one heap of their own
and the loop holds a single handle, armed for the earliest deadline: a request adds a heap entry,
its answer marks the entry cancelled, and one sweep fires whatever is due. Cancelled entries are
dropped when they reach the top, and the heap is compacted when they outnumber the live ones, so
its size stays bounded by twice the requests in flight.

Only for the default ``asyncio.sleep``; an injected ``sleep`` (tests' fake time) keeps the
task-per-timer of ``timers.timer_starter``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Final

__all__ = ["Deadline", "Deadlines"]

#: Compact only past this many cancelled entries (a rebuild for a handful is not worth it).
_COMPACT_SLACK: Final = 64


class Deadline:
    """One scheduled callback; ``cancel()`` is idempotent and harmless after it fired."""

    __slots__ = ("_args", "_callback", "_owner")

    def __init__(self, owner: Deadlines, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        self._owner = owner
        self._callback: Callable[..., object] | None = callback
        self._args = args

    def cancel(self) -> None:
        if self._callback is not None:
            self._callback = None
            self._args = ()
            self._owner._cancelled()


class Deadlines:
    """The deadlines of one connection's requests (see the module docstring).

    ``start(delay, callback, *args)`` has the signature of ``timers.StartTimer``.
    """

    __slots__ = ("_armed_at", "_handle", "_heap", "_live", "_loop", "_sequence")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._sequence = itertools.count()
        self._live = 0
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._armed_at = 0.0

    def __len__(self) -> int:
        """Deadlines still to fire (not cancelled, not fired)."""
        return self._live

    @property
    def stored(self) -> int:
        """Heap entries, cancelled ones included (bounded: compacted past twice the live ones)."""
        return len(self._heap)

    def start(self, delay: float, callback: Callable[..., object], *args: object) -> Deadline:
        """Call ``callback(*args)`` once, ``delay`` seconds from now on the running loop's clock."""
        loop = asyncio.get_running_loop()
        at = loop.time() + delay
        deadline = Deadline(self, callback, args)
        heapq.heappush(self._heap, (at, next(self._sequence), deadline))
        self._live += 1
        # Re-armed on another loop too: a handle on a loop that stopped would never fire.
        if self._handle is None or at < self._armed_at or loop is not self._loop:
            self._arm(loop, at)
        return deadline

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(at, self._sweep)
        self._loop = loop
        self._armed_at = at

    def _sweep(self) -> None:
        """Fire every deadline that is due, then arm the handle for the next live one."""
        self._handle = None
        loop = asyncio.get_running_loop()
        # The loop ran this handle because its time came (within the clock's resolution).
        due = max(loop.time(), self._armed_at)
        heap = self._heap
        while heap and heap[0][0] <= due:
            deadline = heapq.heappop(heap)[2]
            callback, args = deadline._callback, deadline._args
            if callback is not None:
                deadline._callback, deadline._args = None, ()
                self._live -= 1
                try:
                    callback(*args)
                except Exception as exc:  # one failing callback must not strand the others
                    loop.call_exception_handler(
                        {"message": "request deadline callback failed", "exception": exc}
                    )
        self._drop_cancelled_top()
        # A callback may have started (and armed for) a deadline later than the earliest left.
        if heap and (self._handle is None or heap[0][0] < self._armed_at):
            self._arm(loop, heap[0][0])

    def _drop_cancelled_top(self) -> None:
        heap = self._heap
        while heap and heap[0][2]._callback is None:
            heapq.heappop(heap)

    def _cancelled(self) -> None:
        self._live -= 1
        heap = self._heap
        if len(heap) > 2 * self._live + _COMPACT_SLACK:
            heap[:] = [entry for entry in heap if entry[2]._callback is not None]
            heapq.heapify(heap)
        if not heap and self._handle is not None:
            self._handle.cancel()
            self._handle = None
