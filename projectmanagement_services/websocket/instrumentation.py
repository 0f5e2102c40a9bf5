"""The telemetry hook of ``WebSocketClient``: a Protocol, so the client never imports OpenTelemetry.

As stamina's instrumentation hooks: the client calls these on events (a dropped frame, a heartbeat
round trip), never on every success; ``None`` (the default) means nothing is recorded.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["WebSocketInstrumentation"]


class WebSocketInstrumentation(Protocol):
    """What the client reports; the OTel implementation maps these to design.md section 8."""

    def record_frame_dropped(self, reason: str) -> None:
        """A received frame (or a list entry) was dropped: ``malformed``, ``oversized``, ``unknown``,
        ``late_answer``, ``unsubscribed`` (an entity broadcast of a project not subscribed to) or
        ``malformed_entity`` (an entry of a list answer)."""
        ...

    def record_rtt(self, seconds: float) -> None:
        """One heartbeat round trip (``pm.connection.rtt``)."""
        ...
