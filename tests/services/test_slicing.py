"""TimeSlicer: yields exactly when a slice's budget is used up, on an injected clock and pause."""

from __future__ import annotations

import pytest

from projectmanagement_services.slicing import TimeSlicer, batched


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Pauses:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1


def test_batched_cuts_items_into_lists_of_the_size_with_a_shorter_last_one() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []


async def test_the_first_checkpoint_yields_then_only_once_the_budget_is_used_up() -> None:
    clock, pauses = Clock(), Pauses()
    slicer = TimeSlicer(0.005, clock=clock, pause=pauses)
    await slicer.checkpoint()  # what ran before the run in this loop turn is unknown: yield first
    assert (pauses.count, slicer.yields) == (1, 1)
    clock.now += 0.004
    await slicer.checkpoint()
    assert (pauses.count, slicer.yields) == (1, 1)
    clock.now += 0.001
    await slicer.checkpoint()
    assert (pauses.count, slicer.yields) == (2, 2)
    clock.now += 0.004  # counted from the yield, not from the start
    await slicer.checkpoint()
    assert pauses.count == 2
    clock.now += 0.002
    await slicer.checkpoint()
    assert pauses.count == 3


async def test_pause_yields_at_once_and_starts_a_new_slice() -> None:
    clock, pauses = Clock(), Pauses()
    slicer = TimeSlicer(0.005, clock=clock, pause=pauses)
    await slicer.pause()
    clock.now += 0.004
    await slicer.checkpoint()
    assert (pauses.count, slicer.yields) == (1, 1)


async def test_a_zero_budget_yields_at_every_checkpoint() -> None:
    pauses = Pauses()
    slicer = TimeSlicer(0, batch=2, clock=Clock(), pause=pauses)
    for _ in slicer.batches(range(5)):
        await slicer.checkpoint()
    assert pauses.count == slicer.yields == 3
    assert slicer.batch_size == 2


@pytest.mark.parametrize(("budget", "batch"), [(-0.001, 1), (0.005, 0)])
def test_bad_settings_are_refused(budget: float, batch: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        TimeSlicer(budget, batch=batch)
