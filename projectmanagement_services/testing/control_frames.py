"""The client's WebSocket Ping and Pong frames, seen as pm-server sees them.

``websockets`` answers a Ping with a Pong inside the protocol and never shows control frames to the
connection handler. pm-server (axum on tungstenite) gets them as messages: each one costs a
rate-limit token like any other message, and an admitted Ping is answered again by pm-server's own
handler, after tungstenite's automatic Pong (so a client receives two Pongs). This connection class
reports the control frames so the server can do the same.
"""

from __future__ import annotations

from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

__all__ = ["ControlFrameConnection"]


class ControlFrameConnection(ServerConnection):
    """A server connection that calls ``on_control(opcode, data)`` for each client Ping and Pong."""

    on_control: Callable[[Opcode, bytes], None] | None = None

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if (
            self.on_control is not None
            and isinstance(event, Frame)
            and event.opcode in (Opcode.PING, Opcode.PONG)
        ):
            self.on_control(event.opcode, bytes(event.data))
