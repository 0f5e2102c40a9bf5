"""Connection state and quality, as the .NET ``ConnectionState`` and ``ConnectionQuality`` enums."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

__all__ = ["ConnectionQuality", "ConnectionState", "ConnectionStateChange"]


class ConnectionState(StrEnum):
    """Lifecycle of a client connection.

    Disconnected -> Connecting -> Connected -> (drop) Reconnecting -> Connecting ... ;
    ``disconnect()`` -> Disconnected; ``aclose()`` -> Closed (final).
    """

    DISCONNECTED = "Disconnected"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"
    RECONNECTING = "Reconnecting"
    CLOSED = "Closed"


class ConnectionQuality(StrEnum):
    """Coarse link quality from the smoothed heartbeat round-trip time."""

    UNKNOWN = "Unknown"
    EXCELLENT = "Excellent"
    GOOD = "Good"
    FAIR = "Fair"
    POOR = "Poor"
    DISCONNECTED = "Disconnected"

    @classmethod
    def from_latency(cls, latency: timedelta | None, *, connected: bool = True) -> ConnectionQuality:
        """Excellent < 100 ms, Good < 300 ms, Fair < 1000 ms, else Poor; Unknown with no sample."""
        if not connected:
            return cls.DISCONNECTED
        if latency is None:
            return cls.UNKNOWN
        ms = latency.total_seconds() * 1000.0
        if ms < 100:
            return cls.EXCELLENT
        if ms < 300:
            return cls.GOOD
        if ms < 1000:
            return cls.FAIR
        return cls.POOR


@dataclass(frozen=True, slots=True)
class ConnectionStateChange:
    """One transition, as raised by ``on_state_changed``; ``error`` says why a connection was lost."""

    previous: ConnectionState
    current: ConnectionState
    error: BaseException | None = None
