"""TimeSlicer: long per-item Python work that hands the event loop back every few milliseconds.

A resync of a 10,000-item project converts and lands 10,000 entities: about 100-200 ms of Python in
one go with eager models, during which every other task of the host application (its UI, its
timers, the client's own heartbeat and read loop) waits. The work is cut into small batches; after
a batch, once ``budget_seconds`` have passed since the loop last ran, the slicer awaits ``pause``
(two loop turns by default, see ``_let_others_run``). Checking the clock once a batch, not once an
item, keeps the bookkeeping below 1 % of the work it slices.

The first checkpoint of a run always yields: whatever ran before the run in the same turn of the
loop (the parse of the frame that brought the list, the previous stage of a resync) is unknown to
the slicer, so it assumes the budget used up rather than add its own slice to it.

Clock and pause are injected, so tests decide exactly when a yield happens.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import Final, TypeVar

__all__ = ["DEFAULT_BATCH", "DEFAULT_SLICE_SECONDS", "TimeSlicer", "batched"]

T = TypeVar("T")

#: How long a slice of work may keep the loop: a quarter of issue 15's 20 ms stall target.
DEFAULT_SLICE_SECONDS: Final = 0.005
#: Items between clock checks: at 1-20 us an item, a batch is 0.06-1.3 ms of work.
DEFAULT_BATCH: Final = 64


async def _let_others_run() -> None:
    """Two loop turns. A task resumed after ``sleep(0)`` runs before the timers and I/O callbacks
    that fell due during its slice (the loop queues those behind it), so one turn would only let
    them run after the next slice, doubling the stall; the second turn lets them run first."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter); ``itertools.batched`` is 3.12+."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class TimeSlicer:
    """One run of sliced work: ``for batch in slicer.batches(items): work(batch); await slicer.checkpoint()``.

    Make one per run: the first checkpoint yields, later ones once the budget since the last yield
    is used up.
    """

    __slots__ = ("_batch", "_budget", "_clock", "_pause", "_since", "yields")

    def __init__(
        self,
        budget_seconds: float = DEFAULT_SLICE_SECONDS,
        *,
        batch: int = DEFAULT_BATCH,
        clock: Callable[[], float] = time.perf_counter,
        pause: Callable[[], Awaitable[None]] = _let_others_run,
    ) -> None:
        if budget_seconds < 0:
            raise ValueError(f"budget_seconds must be >= 0, got {budget_seconds}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self._budget = budget_seconds
        self._batch = batch
        self._clock = clock
        self._pause = pause
        self._since = -math.inf  # as if a full slice had run already (see the module docstring)
        #: How many times this run gave the loop back (for tests and benchmarks).
        self.yields = 0

    @property
    def batch_size(self) -> int:
        """Items between clock checks."""
        return self._batch

    def batches(self, items: Iterable[T]) -> Iterator[list[T]]:
        """``items`` cut into this slicer's batch size."""
        return batched(items, self._batch)

    async def checkpoint(self) -> None:
        """Give the loop back if this slice has used up its budget; otherwise return at once."""
        if self._clock() - self._since >= self._budget:
            await self.pause()

    async def pause(self) -> None:
        """Give the loop back now (before a step that cannot be sliced), and start a new slice."""
        await self._pause()
        self.yields += 1
        self._since = self._clock()
