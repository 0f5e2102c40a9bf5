"""The pm-ws WebSocket layer: sans-I/O protocol core, the adapter over ``websockets``, correlation,
connection health, and ``WebSocketClient``."""

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
from projectmanagement_services.websocket.instrumentation import WebSocketInstrumentation
from projectmanagement_services.websocket.log_redaction import HeaderRedactingLogger, redacting_logger
from projectmanagement_services.websocket.options import WebSocketOptions
from projectmanagement_services.websocket.pending_requests import PendingCall, PendingRequests
from projectmanagement_services.websocket.protocol import (
    Ack,
    Answer,
    Broadcast,
    ErrorAnswer,
    FrameCodec,
    MalformedFrame,
    OutgoingFrame,
    Oversized,
    Pong,
    ReceivedEvent,
    TextFrame,
    UnknownPayload,
    new_message_id,
)
from projectmanagement_services.websocket.timers import StartTimer, Timer, timer_starter

__all__ = [
    "DROP_LATE_ANSWER",
    "DROP_MALFORMED",
    "DROP_OVERSIZED",
    "DROP_UNKNOWN",
    "LEGAL_TRANSITIONS",
    "Ack",
    "Answer",
    "Broadcast",
    "ConnectionFactory",
    "ConnectionHealthTracker",
    "ErrorAnswer",
    "FrameCodec",
    "HandshakeRejectedException",
    "HeaderRedactingLogger",
    "IllegalTransitionError",
    "MalformedFrame",
    "OutgoingFrame",
    "Oversized",
    "PendingCall",
    "PendingRequests",
    "Pong",
    "ReceivedEvent",
    "StartTimer",
    "TextFrame",
    "Timer",
    "UnknownPayload",
    "WebSocketClient",
    "WebSocketConnection",
    "WebSocketInstrumentation",
    "WebSocketOptions",
    "WebsocketsConnection",
    "is_legal_transition",
    "new_message_id",
    "open_websocket",
    "redacting_logger",
    "timer_starter",
]
