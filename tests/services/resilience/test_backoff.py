"""The backoff schedules are pure: checked exactly with a fixed random source."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from itertools import cycle, islice

import pytest

from projectmanagement_services.resilience.backoff import (
    backoff_delays,
    compute_delay,
    exponential_delay,
    retry_delays,
)
from projectmanagement_services.resilience.options import JitterMode, RetryPolicyOptions


def fixed(*values: float) -> Iterable[float]:
    return cycle(values)


def source(*values: float) -> Callable[[], float]:
    it = fixed(*values)
    return lambda: next(it)


def seconds(delays: Iterable[timedelta]) -> list[float]:
    return [d.total_seconds() for d in delays]


def test_exponential_delay_doubles_then_caps() -> None:
    got = [exponential_delay(n, 0.1, 5.0, 2.0) for n in range(1, 10)]
    assert got == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0])


def test_exponential_delay_survives_huge_attempt_numbers() -> None:
    assert exponential_delay(5000, 1.0, 30.0, 2.0) == 30.0


def test_exponential_delay_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError, match="1-based"):
        exponential_delay(0, 0.1, 5.0, 2.0)


def test_proportional_schedule_with_fixed_random() -> None:
    delays = backoff_delays(timedelta(milliseconds=100), timedelta(seconds=5), 2.0, random=source(0.5))
    assert seconds(islice(delays, 8)) == pytest.approx([0.1125, 0.225, 0.45, 0.9, 1.8, 3.6, 5.0, 5.0])


def test_proportional_jitter_spans_zero_to_a_quarter_upward() -> None:
    low = compute_delay(3, initial=0.1, max_delay=5.0, multiplier=2.0, random=lambda: 0.0)
    high = compute_delay(3, initial=0.1, max_delay=5.0, multiplier=2.0, random=lambda: 0.999999)
    assert low == pytest.approx(0.4)
    assert high == pytest.approx(0.4 * 1.25, rel=1e-5)


def test_proportional_jitter_never_exceeds_max_delay() -> None:
    # base 3.2 s * 1.25 = 4.0 would pass a 3.5 s ceiling: the ceiling wins.
    assert compute_delay(6, initial=0.1, max_delay=3.5, multiplier=2.0, random=lambda: 0.999) == 3.5
    # Below the ceiling the jitter is kept in full.
    assert compute_delay(6, initial=0.1, max_delay=5.0, multiplier=2.0, random=lambda: 0.5) == pytest.approx(
        3.6
    )


def test_full_jitter_schedule_with_fixed_random() -> None:
    delays = backoff_delays(
        timedelta(seconds=1), timedelta(seconds=30), 2.0, jitter=JitterMode.FULL, random=source(0.5, 0.25)
    )
    assert seconds(islice(delays, 7)) == pytest.approx([0.5, 0.5, 2.0, 2.0, 8.0, 7.5, 15.0])


def test_decorrelated_schedule_grows_from_the_previous_delay() -> None:
    delays = backoff_delays(
        timedelta(seconds=1),
        timedelta(seconds=10),
        2.0,
        jitter=JitterMode.DECORRELATED,
        random=source(0.5),
    )
    # uniform(1, 3 * previous) at r=0.5: 1 + (3*1-1)/2 = 2; 1 + (6-1)/2 = 3.5; 1 + (10.5-1)/2 = 5.75; ...
    assert seconds(islice(delays, 5)) == pytest.approx([2.0, 3.5, 5.75, 9.125, 10.0])


def test_decorrelated_never_below_initial_nor_above_max() -> None:
    assert compute_delay(
        1, initial=1.0, max_delay=10.0, multiplier=2.0, jitter=JitterMode.DECORRELATED, random=lambda: 0.0
    ) == pytest.approx(1.0)
    assert (
        compute_delay(
            9,
            initial=1.0,
            max_delay=10.0,
            multiplier=2.0,
            jitter=JitterMode.DECORRELATED,
            random=lambda: 0.999,
            previous=9.0,
        )
        == 10.0
    )


def test_retry_delays_has_one_fewer_than_attempts() -> None:
    options = RetryPolicyOptions(max_attempts=4)
    assert seconds(retry_delays(options, source(0.0))) == pytest.approx([0.1, 0.2, 0.4])
    assert list(retry_delays(RetryPolicyOptions(max_attempts=1), source(0.0))) == []


def test_schedule_calls_random_once_per_delay() -> None:
    calls = 0

    def counting() -> float:
        nonlocal calls
        calls += 1
        return 0.0

    list(islice(backoff_delays(timedelta(seconds=1), timedelta(seconds=8), 2.0, random=counting), 6))
    assert calls == 6
