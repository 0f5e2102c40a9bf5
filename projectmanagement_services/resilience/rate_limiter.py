"""RateLimiter: the client's copy of pm-server's per-connection bucket, so the server never refuses.

pm-server checks every frame a connection sends (pings included) against governor's GCRA with
``Quota::with_period(period).allow_burst(burst)``: ``burst`` frames at once, then one per
``period``. A refused frame is dropped with a text warning, and the fifth refusal in a row closes
the connection with 1008. This limiter runs the same GCRA on the client's side of the wire, with
reservations: a send takes the next free slot at once and sleeps until it comes, so concurrent
senders are served in order and the schedule is exact under a fake clock.

- A send whose slot is further away than its operation's timeout fails fast with
  ``RateLimitExceededException(retry_after)`` and reserves nothing (``acquire``).
- The heartbeat only pings when a slot is free now (``try_acquire``): a ping never waits and
  never takes a slot a request is waiting for.
- pm-server gives each connection a fresh bucket, so ``reset()`` on every (re)connect.
- A server warning or a 1008 rate-limit close means the server's limit is lower than these
  options: the limiter empties its bucket and halves its burst and its rate (at most once per
  period, and never twice within 0.5 s, so the warnings for frames already in flight count as one
  lesson). After 30 s (or 20 periods, if longer) without a refusal, one lesson is undone (burst
  doubled, period halved, never beyond the options): a server that really is lower teaches again.
- Every slot but those of a full bucket is taken a small safety margin late (5 % of the period,
  at least 50 ms): the server starts its bucket when it reads the first frame, a little after the
  client sent it, so the client's slots come that much early. The margin delays the send, not the
  schedule: it costs the last cell or so of a burst and some latency, not throughput.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Final

from projectmanagement_core.exceptions import RateLimitExceededException
from projectmanagement_services.clock import MonotonicClock, SleepFunction, default_clock, default_sleep
from projectmanagement_services.resilience.options import RateLimitOptions
from projectmanagement_services.telemetry import PmTelemetry

__all__ = ["MAX_SLOWDOWN", "RateLimiter", "unbounded_rate_limit_wait"]

#: The learned period never grows beyond this multiple of the configured one.
MAX_SLOWDOWN: Final = 64
_MIN_MARGIN: Final = 0.050
#: A new lesson needs this long (or a period, if longer) since the last: warnings for frames that
#: were already in flight when the client slowed down must not slow it down again.
_LESSON_WINDOW: Final = 0.5
#: Without a refusal for this long (or 20 periods, if longer), a lesson is undone one step: a
#: single refusal from latency jitter must not halve the client's rate for the rest of its life.
_RECOVERY_WINDOW: Final = 30.0
_RECOVERY_PERIODS: Final = 20
_MARGIN_SHARE: Final = 0.05


class _Bounded:
    """Marker: the caller's own timeout bounds the wait (the default)."""


_BOUNDED: Final = _Bounded()
_patience: ContextVar[_Bounded | None] = ContextVar("pm_rate_limit_patience", default=_BOUNDED)


@contextmanager
def unbounded_rate_limit_wait() -> Iterator[None]:
    """Inside (this task and the tasks it starts), sends wait for their slot however long it takes.

    For work that must complete rather than fail fast, such as the resync after a reconnect: it
    paces itself through the bucket instead of failing when it is larger than the burst.
    """
    token = _patience.set(None)
    try:
        yield
    finally:
        _patience.reset(token)


class RateLimiter:
    """GCRA with reservations over the injected clock and sleep (design.md sections 3 and 5).

    Args:
        options: burst and period (pm-server's defaults); ``burst=None`` disables limiting (the
            refusal and close counters still count).
        clock: monotonic seconds.
        sleep: how a send waits for its slot.
        telemetry: ``pm.ratelimit.*`` instruments.
    """

    def __init__(
        self,
        options: RateLimitOptions | None = None,
        *,
        clock: MonotonicClock = default_clock,
        sleep: SleepFunction = default_sleep,
        telemetry: PmTelemetry | None = None,
    ) -> None:
        self._options = options or RateLimitOptions()
        self._clock = clock
        self._sleep = sleep
        self._telemetry = telemetry or PmTelemetry.disabled()
        self._configured_burst = self._burst = self._options.burst or 1
        self._configured_period = self._period = self._options.period.total_seconds()
        self._tat = -math.inf  # theoretical arrival time of the next cell; <= now: the bucket is full
        self._generation = 0
        self._last_lesson = -math.inf
        #: Rate-limit warnings the server sent (refusals this limiter did not foresee).
        self.refusals_seen = 0
        #: Connections the server closed with 1008 for rate limiting.
        self.closes_seen = 0
        #: Sends that waited for a slot, and the seconds they waited in all.
        self.waits = 0
        self.throttled_seconds = 0.0
        #: Sends refused locally because their slot was beyond their timeout.
        self.fail_fasts = 0

    # -- state ---------------------------------------------------------------------------------
    @property
    def options(self) -> RateLimitOptions:
        return self._options

    @property
    def enabled(self) -> bool:
        return self._options.enabled

    @property
    def burst(self) -> int:
        """The burst in force: the configured one, or less after the server taught otherwise."""
        return self._burst

    @property
    def period(self) -> timedelta:
        """The period in force: the configured one, or longer after the server taught otherwise."""
        return timedelta(seconds=self._period)

    def __repr__(self) -> str:
        if not self.enabled:
            return "RateLimiter(off)"
        return f"RateLimiter(burst={self._burst}, period={self._period:g}s)"

    @property
    def _tau(self) -> float:
        return self._period * (self._burst - 1)

    def _margin(self, now: float) -> float:
        """The safety margin, except on a full bucket (the server's is as full: nothing to fear)."""
        return max(_MIN_MARGIN, _MARGIN_SHARE * self._period) if self._tat > now else 0.0

    def seconds_until_available(self) -> float:
        """How long until a slot is free (0 when one is free now, or when limiting is off)."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        return max(max(self._tat, now) - self._tau + self._margin(now) - now, 0.0)

    def update_options(self, options: RateLimitOptions) -> None:
        """Apply new options live (settings reload) without touching the connection.

        The new burst and period are the operator's word: they replace what the server taught, and
        the next slot is computed with them. Slots already reserved keep their times, so sends that
        are waiting are neither re-ordered nor released early. ``Burst: null`` turns limiting off.
        """
        self._options = options
        self._configured_burst = self._burst = options.burst or 1
        self._configured_period = self._period = options.period.total_seconds()
        self._last_lesson = -math.inf

    # -- taking slots ----------------------------------------------------------------------------
    def reset(self) -> None:
        """A new connection: pm-server gives it a full bucket. Pending reservations are void."""
        self._tat = -math.inf
        self._generation += 1

    def try_acquire(self) -> bool:
        """Take a slot only if one is free now (heartbeat pings: skipped rather than queued)."""
        if not self.enabled:
            return True
        now = self._clock()
        self._recover(now)
        tat = max(self._tat, now)
        if tat - self._tau + self._margin(now) > now:
            return False
        self._tat = tat + self._period
        return True

    async def acquire(self, operation: str, timeout: timedelta | None) -> float:
        """Reserve the next slot and sleep until it comes; return the seconds waited.

        ``timeout`` bounds the wait (the operation's RequestTimeout); ``None``, or running inside
        ``unbounded_rate_limit_wait()``, waits as long as it takes.

        Raises:
            RateLimitExceededException: the slot is further away than ``timeout``; nothing was
                reserved, ``retry_after`` says when a slot frees up.
        """
        if not self.enabled:
            return 0.0
        patience = _patience.get()
        limit = None if patience is None or timeout is None else timeout.total_seconds()
        waited = 0.0
        while True:
            generation = self._generation
            wait = self._reserve(operation, timeout, None if limit is None else limit - waited)
            if wait <= 0.0:
                break
            await self._sleep(wait)
            waited += wait
            if self._generation == generation:
                break
            # Reconnected while waiting: that slot was in the old connection's bucket; take one in
            # the new one (free at once, unless the resync got there first).
        if waited > 0.0:
            self.waits += 1
            self.throttled_seconds += waited
            self._telemetry.record_rate_limit_wait(operation, waited)
        return waited

    def _reserve(self, operation: str, timeout: timedelta | None, budget: float | None) -> float:
        now = self._clock()
        self._recover(now)
        tat = max(self._tat, now)
        wait = max(tat - self._tau + self._margin(now) - now, 0.0)
        if budget is not None and wait > budget:
            self.fail_fasts += 1
            raise RateLimitExceededException(timedelta(seconds=wait), operation, timeout)
        self._tat = max(tat, now + wait) + self._period
        return wait

    # -- what the server says ------------------------------------------------------------------
    def record_refusal(self) -> None:
        """The server refused a frame (a text warning): slow down at once and count it."""
        self.refusals_seen += 1
        self._telemetry.record_rate_limit_refusal()
        self._learn()

    def record_close(self) -> None:
        """The server closed the connection with 1008 for rate limiting: slow down and count it."""
        self.closes_seen += 1
        self._telemetry.record_rate_limit_close()
        self._learn()

    def reconnect_delay(self) -> float:
        """After a rate-limit close, wait one (learned) period before reconnecting (0 when off)."""
        return self._period if self.enabled else 0.0

    def _learn(self) -> None:
        """The server's limit is lower than ours: empty the bucket; halve burst and rate once a period."""
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last_lesson >= max(self._period, _LESSON_WINDOW):
            self._last_lesson = now
            self._burst = max(1, self._burst // 2)
            ceiling = self._configured_period * MAX_SLOWDOWN
            self._period = min(self._period * 2, ceiling)
        self._tat = max(self._tat, now + self._tau + self._period)

    def _recover(self, now: float) -> None:
        """Undo one lesson after a quiet spell (called when a slot is taken)."""
        configured_burst, configured_period = self._configured_burst, self._configured_period
        if self._burst >= configured_burst and self._period <= configured_period:
            return
        if now - self._last_lesson < max(_RECOVERY_WINDOW, _RECOVERY_PERIODS * self._period):
            return
        self._last_lesson = now
        self._burst = min(configured_burst, self._burst * 2)
        self._period = max(configured_period, self._period / 2)
