"""Fault controls of the reference server: make it misbehave on purpose, one scoped fault at a time.

Count-based faults (``refuse_handshakes``, ``swallow_answers``, ``fail_requests``) apply to the next N
occurrences and then disarm themselves; the ``with`` forms (``delay_answers``, ``delay_handling``,
``rate_limit``) undo on
exit. So a test that forgets to clean up cannot leak a fault into the next one (and :meth:`clear`
removes everything at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.rate_limit import RateLimit

__all__ = [
    "FaultTarget",
    "RateLimitSettings",
    "ServerFaults",
    "malformed_frame",
    "oversized_frame",
    "unknown_payload_frame",
]


class FaultTarget(Protocol):
    """What the faults need from the server: reach every open connection."""

    async def abort_connections(self) -> None:
        """TCP-abort every connection (no Close frame) and wait for their handlers to finish."""

    async def close_connections(self, code: int, reason: str) -> None:
        """Send a Close frame with ``code`` to every connection and wait for the closing handshake."""

    async def send_to_all(self, frame: bytes | str) -> None:
        """Send ``frame`` to every connection, after what is already queued for it."""


@dataclass(frozen=True)
class RateLimitSettings:
    """pm-server's limiter parameters; ``generation`` changes on every activation, resetting buckets."""

    limit: RateLimit
    generation: int

    @property
    def burst(self) -> int:
        return self.limit.burst

    @property
    def period(self) -> float:
        return self.limit.period


def malformed_frame() -> bytes:
    """Bytes that fail to decode as a ``WebSocketMessage``: field 1 claims 127 bytes, none follow."""
    return b"\x0a\x7f"


def oversized_frame(size_bytes: int) -> bytes:
    """A decodable envelope of exactly ``size_bytes`` bytes (a Pong padded through its message_id).

    Decodable on purpose: a client that rejects it must do so for its size, not its content. Below
    the smallest possible envelope (2 bytes) the frame is zero bytes of padding instead.
    """
    if size_bytes < 2:
        return b"\x00" * size_bytes
    padding = size_bytes - 2
    while True:
        envelope = pb.WebSocketMessage(message_id="x" * padding)
        size = envelope.ByteSize()
        if size == size_bytes:
            return envelope.SerializeToString()
        padding -= size - size_bytes
        if padding < 0:
            return b"\x00" * size_bytes


def unknown_payload_frame(message_id: str, timestamp: int) -> bytes:
    """A valid envelope whose payload is field 70 (comments: a payload this schema does not model)."""
    envelope = pb.WebSocketMessage(message_id=message_id, timestamp=timestamp).SerializeToString()
    # Tag for field 70, wire type 2 (length-delimited) is varint(70 << 3 | 2) = 0xb2 0x04; empty body.
    return envelope + b"\xb2\x04\x00"


class ServerFaults:
    """The ``server.faults`` object of :class:`~projectmanagement_services.testing.PmTestServer`.

    The server consults it at each decision point through the ``take_*`` methods; tests arm it with
    the public methods.
    """

    def __init__(self, target: FaultTarget, rate_limit: RateLimit | None = None) -> None:
        self._target = target
        self._refusals = 0
        self._refusal_status = 503
        self._swallow = 0
        self._swallow_pongs = 0
        self._failures = 0
        self._failure = ("SERVICE_UNAVAILABLE", "Retry after 1 seconds")
        self._delay = 0.0
        self._handling_delay = 0.0
        self._generation = 0
        #: The server's configured limit (as pm-server's ``[rate_limit]``): what ``clear`` restores.
        self._configured = None if rate_limit is None else RateLimitSettings(rate_limit, 0)
        self._rate_limit: RateLimitSettings | None = self._configured

    # ------------------------------------------------------------------ immediate actions

    async def drop_all(self) -> None:
        """Abort every connection's TCP stream now: no Close frame, as a crash or a cable pull."""
        await self._target.abort_connections()

    async def close_all(self, code: int = 1008, reason: str = "") -> None:
        """Close every connection with a Close frame carrying ``code``."""
        await self._target.close_connections(code, reason)

    async def send_malformed(self) -> None:
        """Send every connection a binary frame that is not a valid ``WebSocketMessage``."""
        await self._target.send_to_all(malformed_frame())

    async def send_text(self, text: str) -> None:
        """Send every connection a text frame (pm-server only sends rate-limit warnings as text)."""
        await self._target.send_to_all(text)

    async def send_oversized(self, size_bytes: int) -> None:
        """Send every connection a binary frame of exactly ``size_bytes`` bytes."""
        await self._target.send_to_all(oversized_frame(size_bytes))

    async def send_unknown_payload(self, message_id: str = "00000000-0000-4000-8000-000000000070") -> None:
        """Send every connection a valid envelope whose payload is the unknown field number 70."""
        await self._target.send_to_all(unknown_payload_frame(message_id, 0))

    # ------------------------------------------------------------------ armed faults

    def refuse_handshakes(self, n: int, status: int = 503) -> None:
        """Answer the next ``n`` WebSocket handshakes with HTTP ``status`` instead of upgrading."""
        self._refusals = _count(n)
        self._refusal_status = status

    def swallow_answers(self, n: int) -> None:
        """Process the next ``n`` requests (pings excluded) but never send their answers."""
        self._swallow = _count(n)

    def swallow_pongs(self, n: int) -> None:
        """Never answer the next ``n`` pings: a connection that looks alive but is not (heartbeat tests)."""
        self._swallow_pongs = _count(n)

    def fail_requests(
        self, n: int, code: str = "SERVICE_UNAVAILABLE", message: str = "Retry after 1 seconds"
    ) -> None:
        """Answer the next ``n`` requests (pings excluded) with ``Error(code)`` without processing them."""
        self._failures = _count(n)
        self._failure = (code, message)

    def set_delay(self, seconds: float) -> None:
        """Delay every answer (pongs included) by ``seconds``; 0 turns the delay off."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0 (got {seconds})")
        self._delay = seconds

    @contextmanager
    def delay_answers(self, seconds: float) -> Iterator[None]:
        """Delay every answer by ``seconds`` while inside the block."""
        previous = self._delay
        self.set_delay(seconds)
        try:
            yield
        finally:
            self._delay = previous

    def set_handling_delay(self, seconds: float) -> None:
        """Make every request's handling take ``seconds`` longer, inside the handler timeout; 0 turns it off.

        Unlike :meth:`set_delay` (a slow network after the answer is made), this is a slow handler:
        with a handler timeout shorter than ``seconds`` each request is answered TIMEOUT and not applied.
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0 (got {seconds})")
        self._handling_delay = seconds

    @contextmanager
    def delay_handling(self, seconds: float) -> Iterator[None]:
        """Slow every request's handling by ``seconds`` while inside the block."""
        previous = self._handling_delay
        self.set_handling_delay(seconds)
        try:
            yield
        finally:
            self._handling_delay = previous

    @contextmanager
    def rate_limit(self, burst: int | None = 100, period: float = 60.0) -> Iterator[None]:
        """pm-server's limiter as given while inside (``burst=None``: off); the previous one after.

        Each connection gets a fresh bucket on entry and again on exit.
        """
        previous = self._rate_limit
        self.set_rate_limit(burst, period)
        try:
            yield
        finally:
            self._generation += 1
            self._rate_limit = (
                None if previous is None else RateLimitSettings(previous.limit, self._generation)
            )

    def set_rate_limit(self, burst: int | None, period: float = 60.0) -> None:
        """Change the limiter (fresh buckets for every connection), or turn it off with ``burst=None``."""
        self._generation += 1
        if burst is None:
            self._rate_limit = None
            return
        self._rate_limit = RateLimitSettings(RateLimit(burst, period), self._generation)

    def clear(self) -> None:
        """Disarm every fault; the rate limit goes back to the one the server was started with."""
        self._refusals = self._swallow = self._swallow_pongs = self._failures = 0
        self._delay = self._handling_delay = 0.0
        self._generation += 1
        configured = self._configured
        self._rate_limit = (
            None if configured is None else RateLimitSettings(configured.limit, self._generation)
        )

    # ------------------------------------------------------------------ consulted by the server

    @property
    def delay(self) -> float:
        return self._delay

    @property
    def handling_delay(self) -> float:
        return self._handling_delay

    @property
    def rate_limit_settings(self) -> RateLimitSettings | None:
        return self._rate_limit

    def take_handshake_refusal(self) -> int | None:
        """The HTTP status to refuse this handshake with, if a refusal is armed."""
        if self._refusals == 0:
            return None
        self._refusals -= 1
        return self._refusal_status

    def take_swallow(self) -> bool:
        if self._swallow == 0:
            return False
        self._swallow -= 1
        return True

    def take_swallow_pong(self) -> bool:
        if self._swallow_pongs == 0:
            return False
        self._swallow_pongs -= 1
        return True

    def take_failure(self) -> tuple[str, str] | None:
        """The (code, message) to fail this request with, if a failure is armed."""
        if self._failures == 0:
            return None
        self._failures -= 1
        return self._failure


def _count(n: int) -> int:
    if n < 0:
        raise ValueError(f"n must be >= 0 (got {n})")
    return n
