"""pm-server's per-connection rate limiter, cell for cell.

pm-server (pm-auth ``ConnectionRateLimiter``) uses the ``governor`` crate with
``Quota::with_period(window_secs).allow_burst(max_requests)``: GCRA with one cell every ``period``
and a burst of ``burst`` cells. pm-ws (``WebSocketConnection::handle_client_message``) checks it
for every frame except Close (binary, text, ping and pong alike) before it looks at the frame. A
refused frame is dropped and answered with a text warning ``Rate limit exceeded. Slow down. (k/5
warnings)``; the fifth refusal in a row gets no warning but a Close 1008 ``Rate limit exceeded 5
times. Connection closed.``; any accepted frame resets the count. Defaults 100 cells and 60 s
(pm-config ranges 1-10000 and 1-3600 s, whole seconds); here the period may be a fraction of a
second so that tests can refill quickly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CLOSE_CODE",
    "CLOSE_REASON",
    "MAX_WARNINGS",
    "PM_SERVER_RATE_LIMIT",
    "ConnectionRateLimiter",
    "RateLimit",
    "TokenBucket",
    "Verdict",
    "rate_limit_warning",
]

#: Consecutive refusals after which pm-server closes the connection (``MAX_VIOLATIONS``).
MAX_WARNINGS: Final = 5
#: The Close code of a rate-limit kick (``close_code::POLICY``).
CLOSE_CODE: Final = 1008
#: The Close reason of a rate-limit kick, as pm-server formats it.
CLOSE_REASON: Final = f"Rate limit exceeded {MAX_WARNINGS} times. Connection closed."

_NANOS: Final = 1_000_000_000


def rate_limit_warning(count: int) -> str:
    """The text frame pm-server sends for the ``count``-th consecutive refusal (1 to 4)."""
    return f"Rate limit exceeded. Slow down. ({count}/{MAX_WARNINGS} warnings)"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """pm-server's ``[rate_limit]``: ``burst`` (``max_requests``) cells, one more each ``period`` s."""

    burst: int = 100
    period: float = 60.0

    def __post_init__(self) -> None:
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1 (got {self.burst})")
        if not self.period > 0:
            raise ValueError(f"period must be > 0 seconds (got {self.period})")


#: pm-server's defaults (pm-config ``DEFAULT_RATE_LIMIT_REQUESTS`` and ``..._WINDOW_SECS``).
PM_SERVER_RATE_LIMIT: Final = RateLimit(100, 60.0)


class TokenBucket:
    """GCRA as governor computes it, in integer nanoseconds so that no refill drifts.

    ``t`` is the period, ``tau = t * (burst - 1)`` the tolerance. The theoretical arrival time
    ``tat`` starts at the first cell's instant (a full bucket); a cell at ``now`` conforms when
    ``now >= tat - tau``, and then ``tat = max(tat, now) + t``. A refused cell changes nothing.
    The clock is injected so that the schedule is exact in tests.
    """

    def __init__(self, burst: int, period_seconds: float, clock: Callable[[], float]) -> None:
        limit = RateLimit(burst, period_seconds)  # validates
        self._t = max(round(limit.period * _NANOS), 1)
        self._tau = self._t * (limit.burst - 1)
        self._clock = clock
        self._tat: int | None = None

    def try_acquire(self) -> bool:
        """Take one cell if it conforms now."""
        now = round(self._clock() * _NANOS)
        tat = now if self._tat is None else self._tat
        if now < tat - self._tau:
            return False
        self._tat = max(tat, now) + self._t
        return True

    def seconds_until_next(self) -> float:
        """How long until a cell would conform (0 when one does now)."""
        if self._tat is None:
            return 0.0
        now = round(self._clock() * _NANOS)
        return max(self._tat - self._tau - now, 0) / _NANOS


class Verdict(enum.Enum):
    """What pm-ws does with one frame."""

    ACCEPT = "accept"
    WARN = "warn"
    CLOSE = "close"


class ConnectionRateLimiter:
    """One connection's bucket and its run of consecutive refusals (pm-ws ``rate_limit_violations``)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._bucket = TokenBucket(limit.burst, limit.period, clock)
        self.violations = 0

    def check(self) -> Verdict:
        """Judge one frame: accepted (the run resets), warned (k of 4), or the fifth: close."""
        if self._bucket.try_acquire():
            self.violations = 0
            return Verdict.ACCEPT
        self.violations += 1
        return Verdict.CLOSE if self.violations >= MAX_WARNINGS else Verdict.WARN
