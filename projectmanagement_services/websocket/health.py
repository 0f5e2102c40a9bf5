"""ConnectionHealthTracker: what the client knows about its link, as the .NET class of that name.

The read side is ``IConnectionHealth`` (for UIs and operators); the write side (``record_*``,
``mark_*``, ``set_pending_requests``) is called by ``WebSocketClient`` only. Times come from an
injected monotonic clock so that tests read exact values.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from projectmanagement_core.models import ConnectionQuality
from projectmanagement_services.clock import MonotonicClock, default_clock

__all__ = ["ConnectionHealthTracker"]


class ConnectionHealthTracker:
    """Latency window, last traffic, pending count, reconnect attempts, and derived quality.

    Args:
        clock: monotonic seconds, for ``last_message_sent``/``last_message_received``.
        window: how many round-trip samples ``latency`` averages over (a single slow Pong should
            not flip the quality, nor should one fast one hide a slow link).
    """

    def __init__(self, *, clock: MonotonicClock = default_clock, window: int = 5) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        self._clock = clock
        self._samples: deque[float] = deque(maxlen=window)
        self._last_sent: float | None = None
        self._last_received: float | None = None
        self._pending = 0
        self._reconnect_attempts = 0
        self._connected = False

    # ------------------------------------------------------------------ IConnectionHealth

    @property
    def latency(self) -> timedelta | None:
        """Mean of the last ``window`` round trips; None before the first (0.0 s is a sample)."""
        if not self._samples:
            return None
        return timedelta(seconds=sum(self._samples) / len(self._samples))

    @property
    def last_latency(self) -> timedelta | None:
        return timedelta(seconds=self._samples[-1]) if self._samples else None

    @property
    def last_message_sent(self) -> float | None:
        return self._last_sent

    @property
    def last_message_received(self) -> float | None:
        return self._last_received

    @property
    def pending_requests(self) -> int:
        return self._pending

    @property
    def reconnect_attempts(self) -> int:
        return self._reconnect_attempts

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def quality(self) -> ConnectionQuality:
        return ConnectionQuality.from_latency(self.latency, connected=self._connected)

    # ------------------------------------------------------------------ write side (the client)

    def record_sent(self) -> None:
        self._last_sent = self._clock()

    def record_received(self) -> None:
        self._last_received = self._clock()

    def record_latency(self, rtt: timedelta | float) -> None:
        """Add one heartbeat round trip (seconds or timedelta); negative values are rejected."""
        seconds = rtt.total_seconds() if isinstance(rtt, timedelta) else float(rtt)
        if seconds < 0:
            raise ValueError(f"round-trip time cannot be negative (got {seconds})")
        self._samples.append(seconds)

    def set_pending_requests(self, count: int) -> None:
        """Set from the pending map's true size after every change, so the count cannot drift."""
        if count < 0:
            raise ValueError(f"pending count cannot be negative (got {count})")
        self._pending = count

    def record_reconnect_attempt(self) -> None:
        self._reconnect_attempts += 1

    def mark_connected(self) -> None:
        """A connection is open: the reconnect attempts of the outage are over."""
        self._connected = True
        self._reconnect_attempts = 0

    def mark_disconnected(self) -> None:
        """The link is down; the latency window is cleared (a new link has a new latency)."""
        self._connected = False
        self._samples.clear()

    def __repr__(self) -> str:
        latency = self.latency
        shown = "n/a" if latency is None else f"{latency.total_seconds() * 1000:.3f}ms"
        return (
            f"ConnectionHealthTracker(connected={self._connected}, latency={shown}, "
            f"pending={self._pending}, reconnect_attempts={self._reconnect_attempts})"
        )
