"""Backoff schedules as pure functions of plain numbers and a random source.

Shared by ``RetryPolicy`` (between attempts of one operation) and the reconnection loop (between
connection attempts): neither owns the arithmetic, and tests check it exactly with a fixed random
source instead of sampling and asserting ranges.

The rule (as the .NET design): attempt ``n`` (1-based) waits ``initial * multiplier**(n-1)``,
capped at ``max_delay``, then jittered by ``JitterMode``:

* ``proportional`` adds 0-25 % upward (``base * (1 + 0.25 * r)``);
* ``full`` draws uniformly from ``[0, base]``;
* ``decorrelated`` draws uniformly from ``[initial, 3 * previous]`` (ignores ``multiplier``).

**Jitter never exceeds ``max_delay``**: it is a hard ceiling on every wait, so that a configured
MaxDelay can be relied on (for instance to fit retries inside a caller's deadline). At the ceiling
the proportional jitter therefore disappears; callers who want spread there choose ``full`` or
``decorrelated``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import count, islice
from typing import Final

from projectmanagement_services.clock import RandomSource, default_random
from projectmanagement_services.resilience.options import JitterMode, RetryPolicyOptions

__all__ = [
    "PROPORTIONAL_JITTER",
    "backoff_delays",
    "compute_delay",
    "exponential_delay",
    "retry_delays",
]

#: Upper bound of the proportional jitter, as a fraction of the base delay (the .NET plan's 25 %).
PROPORTIONAL_JITTER: Final = 0.25

#: Decorrelated jitter draws up to this multiple of the previous delay (AWS's constant).
_DECORRELATED_GROWTH: Final = 3.0


def exponential_delay(attempt: int, initial: float, max_delay: float, multiplier: float) -> float:
    """Seconds before attempt ``attempt`` + 1 without jitter: ``initial * multiplier**(attempt-1)``, capped.

    ``attempt`` is the 1-based number of the attempt that just failed. Safe for any attempt count
    (a reconnect loop that runs forever reaches exponents a float cannot hold).
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    try:
        base = initial * multiplier ** (attempt - 1)
    except OverflowError:
        return max_delay
    return min(base, max_delay)


def compute_delay(
    attempt: int,
    *,
    initial: float,
    max_delay: float,
    multiplier: float,
    jitter: JitterMode = JitterMode.PROPORTIONAL,
    random: RandomSource = default_random,
    previous: float | None = None,
) -> float:
    """Seconds to wait after attempt ``attempt`` (1-based) failed; calls ``random()`` once.

    ``previous`` is the delay returned for the attempt before (decorrelated jitter grows from it;
    the other modes ignore it). The result is always within ``[0, max_delay]``.
    """
    if jitter is JitterMode.DECORRELATED:
        last = initial if previous is None else previous
        high = max(initial, _DECORRELATED_GROWTH * last)
        return min(initial + (high - initial) * random(), max_delay)
    base = exponential_delay(attempt, initial, max_delay, multiplier)
    if jitter is JitterMode.FULL:
        return base * random()
    return min(base * (1.0 + PROPORTIONAL_JITTER * random()), max_delay)


def backoff_delays(
    initial: timedelta,
    max_delay: timedelta,
    multiplier: float,
    *,
    jitter: JitterMode = JitterMode.PROPORTIONAL,
    random: RandomSource = default_random,
) -> Iterator[timedelta]:
    """The endless schedule: the delay after attempt 1, after attempt 2, ... (take what you need)."""
    initial_s = initial.total_seconds()
    max_s = max_delay.total_seconds()
    previous: float | None = None
    for attempt in count(1):
        previous = compute_delay(
            attempt,
            initial=initial_s,
            max_delay=max_s,
            multiplier=multiplier,
            jitter=jitter,
            random=random,
            previous=previous,
        )
        yield timedelta(seconds=previous)


def retry_delays(options: RetryPolicyOptions, random: RandomSource = default_random) -> Iterator[timedelta]:
    """The ``max_attempts - 1`` waits of one retried operation (none after the last attempt)."""
    schedule = backoff_delays(
        options.initial_delay,
        options.max_delay,
        options.backoff_multiplier,
        jitter=options.jitter,
        random=random,
    )
    return islice(schedule, options.max_attempts - 1)
