"""The pm-ws WebSocket layer: ``WebSocketClient``, its options, and the connection seam.

Only what an application builds with or catches is exported here; the machinery (the sans-I/O frame
codec and its event types, pending-request correlation, timers, log redaction, instrumentation) is
importable from its own module for tests and extensions, but is not part of this front door.
"""

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
