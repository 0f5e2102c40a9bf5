"""pm-server's per-connection rate limiter: a token bucket with a burst and a slow refill."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

__all__ = ["MAX_WARNINGS", "TokenBucket", "rate_limit_warning"]

#: Consecutive rejections after which pm-server closes the connection with 1008.
MAX_WARNINGS: Final = 5


def rate_limit_warning(count: int) -> str:
    """The text frame pm-server sends for the ``count``-th consecutive rejection."""
    return f"Rate limit exceeded. Slow down. ({count}/{MAX_WARNINGS} warnings)"


class TokenBucket:
    """Allows ``burst`` messages at once, then one more every ``refill_seconds``.

    As pm-server: every frame costs a token, pings included. The bucket also tracks how many messages
    in a row it rejected, because the server kicks a connection after :data:`MAX_WARNINGS` of them.
    The clock is injected so the refill is exact in tests.
    """

    def __init__(self, burst: int, refill_seconds: float, clock: Callable[[], float]) -> None:
        if burst < 1:
            raise ValueError(f"burst must be >= 1 (got {burst})")
        if refill_seconds <= 0:
            raise ValueError(f"refill_seconds must be > 0 (got {refill_seconds})")
        self._burst = burst
        self._refill_seconds = refill_seconds
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self.consecutive_rejections = 0

    def try_acquire(self) -> bool:
        """Take a token if one is available; count the rejection otherwise."""
        now = self._clock()
        self._tokens = min(float(self._burst), self._tokens + (now - self._last) / self._refill_seconds)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self.consecutive_rejections = 0
            return True
        self.consecutive_rejections += 1
        return False
