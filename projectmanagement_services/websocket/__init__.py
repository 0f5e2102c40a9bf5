"""The pm-ws WebSocket layer: ``WebSocketClient``, its options, and the connection seam.

Only what an application builds with or catches is exported here; the machinery (the sans-I/O frame
codec and its event types, pending-request correlation, timers, log redaction, instrumentation) is
importable from its own module for tests and extensions, but is not part of this front door.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services.websocket.client import (
        DROP_LATE_ANSWER,
        DROP_MALFORMED,
        DROP_OVERSIZED,
        DROP_UNKNOWN,
        WebSocketClient,
    )
    from projectmanagement_services.websocket.connection import (
        ConnectionFactory,
        HandshakeRejectedException,
        WebSocketConnection,
        WebsocketsConnection,
        open_websocket,
    )
    from projectmanagement_services.websocket.connection_state import (
        LEGAL_TRANSITIONS,
        IllegalTransitionError,
        is_legal_transition,
    )
    from projectmanagement_services.websocket.health import ConnectionHealthTracker
    from projectmanagement_services.websocket.options import WebSocketOptions

#: Exported name -> its module, imported on first access (PEP 562): importing the package stays cheap.
_ORIGINS: dict[str, str] = {
    "ConnectionFactory": "projectmanagement_services.websocket.connection",
    "ConnectionHealthTracker": "projectmanagement_services.websocket.health",
    "DROP_LATE_ANSWER": "projectmanagement_services.websocket.client",
    "DROP_MALFORMED": "projectmanagement_services.websocket.client",
    "DROP_OVERSIZED": "projectmanagement_services.websocket.client",
    "DROP_UNKNOWN": "projectmanagement_services.websocket.client",
    "HandshakeRejectedException": "projectmanagement_services.websocket.connection",
    "IllegalTransitionError": "projectmanagement_services.websocket.connection_state",
    "LEGAL_TRANSITIONS": "projectmanagement_services.websocket.connection_state",
    "WebSocketClient": "projectmanagement_services.websocket.client",
    "WebSocketConnection": "projectmanagement_services.websocket.connection",
    "WebSocketOptions": "projectmanagement_services.websocket.options",
    "WebsocketsConnection": "projectmanagement_services.websocket.connection",
    "is_legal_transition": "projectmanagement_services.websocket.connection_state",
    "open_websocket": "projectmanagement_services.websocket.connection",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _ORIGINS)

__all__ = [
    "DROP_LATE_ANSWER",
    "DROP_MALFORMED",
    "DROP_OVERSIZED",
    "DROP_UNKNOWN",
    "LEGAL_TRANSITIONS",
    "ConnectionFactory",
    "ConnectionHealthTracker",
    "HandshakeRejectedException",
    "IllegalTransitionError",
    "WebSocketClient",
    "WebSocketConnection",
    "WebSocketOptions",
    "WebsocketsConnection",
    "is_legal_transition",
    "open_websocket",
]
