"""IConnectionHealth: the read side of a connection's health, as the .NET interface."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from projectmanagement_core.models import ConnectionQuality

__all__ = ["IConnectionHealth"]


class IConnectionHealth(Protocol):
    """What a UI or an operator reads about the link."""

    @property
    def latency(self) -> timedelta | None:
        """Smoothed heartbeat round-trip time over a small window; None before the first sample."""
        ...

    @property
    def last_latency(self) -> timedelta | None:
        """The most recent round-trip sample."""
        ...

    @property
    def last_message_sent(self) -> float | None:
        """Monotonic time of the last frame sent, or None."""
        ...

    @property
    def last_message_received(self) -> float | None:
        """Monotonic time of the last frame received, or None."""
        ...

    @property
    def pending_requests(self) -> int:
        """Requests sent and not yet answered, timed out or failed."""
        ...

    @property
    def reconnect_attempts(self) -> int:
        """Reconnect attempts since the last stable connection."""
        ...

    @property
    def is_connected(self) -> bool: ...

    @property
    def quality(self) -> ConnectionQuality:
        """Excellent/Good/Fair/Poor from ``latency``; Unknown with no sample; Disconnected when down."""
        ...
