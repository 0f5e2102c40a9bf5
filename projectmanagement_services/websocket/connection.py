"""The one adapter over ``websockets``: it moves bytes and translates errors, once.

As httpcore's ``map_exceptions``: every ``websockets`` exception and every ``OSError`` raised while
opening, sending or receiving becomes a ``ConnectionException`` here (``raise ... from exc``), so
nothing above this module ever catches a ``websockets`` type. ``WebSocketConnection`` is the
transport seam (as ``httpx.MockTransport``): unit tests hand the client a fake that moves frames
through queues; integration tests use this adapter against a real server.

Decisions:
- ``max_size``: websockets closes the connection (1009) on a frame above its limit, but an
  oversized frame must be dropped *without* killing the client. So websockets is allowed
  ``OVERSIZE_HEADROOM`` times ``MaxMessageSize`` and the client enforces ``MaxMessageSize``
  itself by dropping the frame (a hard cap remains, so memory stays bounded).
- Protocol-level keepalive pings are off (``ping_interval=None``): pm-server rate-limits every
  frame it counts, liveness is the app-level heartbeat's job (protocol.md), and one mechanism is
  easier to reason about than two with different timeouts.
- ``proxy=None``: pm-server is reached directly (it binds loopback); an HTTP(S)_PROXY in the
  environment must not silently reroute it.
- A transport that is closing (aborted after a drop or a failed write, before websockets has
  processed ``connection_lost``) is never written to: ``send`` fails at once instead.
- The ``Authorization`` header is redacted from websockets' own debug log of the handshake
  (``log_redaction``; the reference server does the same on its side).
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Final, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as websockets_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from projectmanagement_core.exceptions import (
    ConnectionException,
    FieldError,
    RateLimitClosedException,
    ValidationException,
)
from projectmanagement_services.websocket.log_redaction import redacting_logger
from projectmanagement_services.websocket.options import WebSocketOptions

__all__ = [
    "OVERSIZE_HEADROOM",
    "RATE_LIMIT_CLOSE_CODE",
    "ConnectionFactory",
    "HandshakeRejectedException",
    "WebSocketConnection",
    "WebsocketsConnection",
    "build_ssl_context",
    "build_url",
    "open_websocket",
]

_log = logging.getLogger(__name__)

#: websockets accepts frames up to this multiple of MaxMessageSize; the client drops those above 1x.
OVERSIZE_HEADROOM: Final = 4
#: pm-server's only Close code: policy (1008), sent when it kicks a connection for its rate.
RATE_LIMIT_CLOSE_CODE: Final = 1008


class HandshakeRejectedException(ConnectionException):
    """The server answered the handshake with an HTTP status (401 bad token, 503 full).

    ``status_code`` lets a reconnection loop tell "try later" (503) from "will never work" (401).
    """

    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        super().__init__(f"handshake rejected with HTTP {status_code}")


class WebSocketConnection(Protocol):
    """An open connection that moves whole frames. Every failure is a ``ConnectionException``."""

    async def send(self, data: bytes) -> None:
        """Send one binary frame."""
        ...

    async def recv(self) -> bytes | str:
        """The next frame: ``bytes`` for binary, ``str`` for text."""
        ...

    async def close(self) -> None:
        """Close cleanly (Close frame 1000); never raises."""
        ...

    def abort(self) -> None:
        """Drop the transport at once, without a closing handshake (the link is already dead)."""
        ...


#: Opens a connection from options: the client's seam (tests pass a fake).
ConnectionFactory = Callable[[WebSocketOptions], Awaitable[WebSocketConnection]]


def _translate(exc: BaseException, action: str) -> ConnectionException:
    if isinstance(exc, InvalidStatus):
        return HandshakeRejectedException(exc.response.status_code)
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        if exc.rcvd is not None and code == RATE_LIMIT_CLOSE_CODE and "rate limit" in exc.rcvd.reason.lower():
            return RateLimitClosedException(exc.rcvd.reason, close_code=code)
        return ConnectionException(f"connection closed while {action}", close_code=code)
    if isinstance(exc, TimeoutError):
        return ConnectionException(f"timed out while {action}")
    if isinstance(exc, ssl.SSLError):
        return ConnectionException(f"TLS failure while {action}: {exc.__class__.__name__}")
    return ConnectionException(f"{_in_words(exc)} while {action}")


def _in_words(exc: BaseException) -> str:
    """What went wrong as a person says it ("connection refused"), not a class name."""
    if isinstance(exc, socket.gaierror):
        return "host not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return exc.__class__.__name__


class WebsocketsConnection:
    """``WebSocketConnection`` over a ``websockets`` ``ClientConnection``."""

    __slots__ = ("_ws",)

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def send(self, data: bytes) -> None:
        transport = self._ws.transport
        if transport is None or transport.is_closing():
            # Aborted (by us or by a failed write) before websockets has heard of it: a write now
            # would only feed asyncio's "socket.send() raised exception." warnings.
            raise ConnectionException("connection closed while sending")
        try:
            await self._ws.send(data)
        except (WebSocketException, OSError) as exc:
            raise _translate(exc, "sending") from exc

    async def recv(self) -> bytes | str:
        try:
            return await self._ws.recv()
        except (WebSocketException, OSError) as exc:
            raise _translate(exc, "receiving") from exc

    async def close(self) -> None:
        try:
            await self._ws.close()
        except (WebSocketException, OSError) as exc:  # closing a broken link: nothing left to do
            _log.debug("close failed: %s", exc.__class__.__name__)

    def abort(self) -> None:
        transport = self._ws.transport
        if transport is not None:
            transport.abort()

    def __repr__(self) -> str:
        return f"WebsocketsConnection(state={self._ws.state.name})"


def build_url(options: WebSocketOptions) -> str:
    """``ServerUrl`` with ``user_id`` set in the query (open mode); the same on every (re)connect."""
    if options.user_id is None:
        return options.server_url
    parts = urlsplit(options.server_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "user_id"]
    query.append(("user_id", str(options.user_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_ssl_context(options: WebSocketOptions) -> ssl.SSLContext | None:
    """For wss://: verify against ``CaFile`` or the system store. Verification is never turned off."""
    if not options.is_secure:
        return None
    cafile = str(options.ca_file) if options.ca_file is not None else None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)


async def open_websocket(options: WebSocketOptions) -> WebsocketsConnection:
    """Open a connection as ``options`` say (the default ``ConnectionFactory``).

    Raises:
        HandshakeRejectedException: the server answered with an HTTP status instead of upgrading.
        ConnectionException: anything else that prevented the connection (refused, TLS, timeout).
        ValidationException: ``CaFile`` or ``AuthToken`` cannot be used (options built without
            validation); never retried, as sending again cannot fix a configuration.
    """
    headers: dict[str, str] = {}
    if options.auth_token is not None:
        token = options.auth_token.get_secret_value()
        if not all(" " <= char <= "~" for char in token):
            raise ValidationException(FieldError("AuthToken", "must be printable ASCII"))
        headers["Authorization"] = f"Bearer {token}"
    try:
        ssl_context = build_ssl_context(options)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ValidationException(
            FieldError("CaFile", f"cannot be used as a certificate bundle ({type(exc).__name__})")
        ) from None
    connect_timeout = options.connect_timeout.total_seconds()
    try:
        ws = await websockets_connect(
            build_url(options),
            additional_headers=headers,
            ssl=ssl_context,
            open_timeout=connect_timeout,
            close_timeout=min(connect_timeout, 5.0),
            ping_interval=None,
            max_size=options.max_message_size * OVERSIZE_HEADROOM,
            proxy=None,
            logger=redacting_logger("websockets.client"),
        )
    except (WebSocketException, OSError, TimeoutError) as exc:
        raise _translate(exc, f"connecting to {options.server_url}") from exc
    return WebsocketsConnection(ws)
