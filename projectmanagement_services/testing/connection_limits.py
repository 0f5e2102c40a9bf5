"""pm-server's connection-level limits and the texts it answers them with, in one place.

Defaults are upstream's (pm-config and pm-ws at v0.1.4); :class:`PmTestServer` takes each as a
keyword argument and ``pm serve`` as a flag.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_DESKTOP_USER_ID",
    "DEFAULT_HANDLER_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "MAX_FRAME_BYTES",
    "MAX_MAX_CONNECTIONS",
    "MIN_JWT_SECRET_LENGTH",
    "TIMEOUT_MESSAGE",
    "UNSUPPORTED_PAYLOAD_MESSAGE",
    "check_handler_timeout",
    "check_max_connections",
]

#: pm-config's ``auth.desktop_user_id`` default: not a UUID, so every connection gets a random one
#: (``identity``). Here, beside the other defaults, so that ``pm serve``'s flags import no websockets.
DEFAULT_DESKTOP_USER_ID: Final = "local-user"
#: pm-config ``server.max_connections`` (range 1-100000): beyond it a handshake gets HTTP 503.
DEFAULT_MAX_CONNECTIONS: Final = 10_000
MAX_MAX_CONNECTIONS: Final = 100_000
#: pm-ws's dispatcher wraps each request in a 30 s ``tokio::time::timeout`` (hard-coded upstream:
#: pm-config's ``handler.timeout_secs`` is parsed but never used).
DEFAULT_HANDLER_TIMEOUT: Final = 30.0
#: The Error text of a TIMEOUT answer (code TIMEOUT, no field).
TIMEOUT_MESSAGE: Final = "Request timed out. Please try again."
#: The Error text (code INVALID_MESSAGE) for an envelope without a request payload: pm-ws's
#: ``WsError::InvalidMessage`` display without the source location pm-server appends (see README, **ref**).
UNSUPPORTED_PAYLOAD_MESSAGE: Final = "Invalid message: Unsupported or missing message payload"
#: pm-config's minimum HS256 secret length (characters), checked at start-up.
MIN_JWT_SECRET_LENGTH: Final = 32
#: axum/tungstenite's default maximum message size (64 MiB).
MAX_FRAME_BYTES: Final = 64 << 20


def check_max_connections(value: int | None) -> int | None:
    """None (no limit) or upstream's range 1-100000; anything else is a ValueError."""
    if value is not None and (type(value) is not int or not 1 <= value <= MAX_MAX_CONNECTIONS):
        raise ValueError(f"max_connections must be 1-{MAX_MAX_CONNECTIONS} or None (got {value!r})")
    return value


def check_handler_timeout(value: float | None) -> float | None:
    """None (no timeout) or a positive number of seconds (shorter than upstream's 1 s for tests)."""
    if value is not None and not value > 0:
        raise ValueError(f"handler_timeout must be > 0 seconds or None (got {value!r})")
    return value
