"""The reference server's dispatcher: one decoded request in, its answer and broadcasts out.

As pm-server's ``handlers/dispatcher.rs``: the whole handling (pings included) runs under the handler
timeout, database-touching requests pass pm-server's own circuit breaker, and an envelope without a
request payload is answered INVALID_MESSAGE. Fault injection (failures, delays, swallowed answers)
happens here too, because this is where a real server would be slow or wrong.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from websockets.exceptions import ConnectionClosed

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.connection_limits import TIMEOUT_MESSAGE, UNSUPPORTED_PAYLOAD_MESSAGE
from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.faults import ServerFaults
from projectmanagement_services.testing.request_handler import (
    ENTITY_REQUESTS,
    Broadcast,
    RequestHandler,
    error_envelope,
)
from projectmanagement_services.testing.server_breaker import (
    SERVICE_UNAVAILABLE_MESSAGE,
    ServerCircuitBreaker,
    breaker_effects,
    uses_database,
)
from projectmanagement_services.testing.session import Session

__all__ = ["Dispatcher"]

logger = logging.getLogger("projectmanagement_services.testing.server")

_NO_PAYLOAD: Final = "<no payload>"


class Dispatcher:
    """Answers the requests of every session of one server; ``handler`` is set once the store is open."""

    def __init__(
        self,
        *,
        sessions: set[Session],
        counters: ServerCounters,
        faults: ServerFaults,
        breaker: ServerCircuitBreaker | None,
        handler_timeout: float | None,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._sessions = sessions
        self.counters = counters
        self.faults = faults
        self.breaker = breaker
        self._handler_timeout = handler_timeout
        self._now = now
        self._sleep = sleep
        self.handler: RequestHandler | None = None

    async def dispatch(self, session: Session, request: pb.WebSocketMessage) -> None:
        """A bug in request handling answers INTERNAL_ERROR and is counted; it never kills the connection."""
        try:
            await self._dispatch(session, request)
        except (ConnectionClosed, asyncio.CancelledError):
            raise
        except Exception:
            self.counters.internal_errors += 1
            logger.exception("request %s failed inside the reference server", request.message_id)
            answer = error_envelope(request.message_id, int(self._now()), "INTERNAL_ERROR", "internal error")
            session.send(answer)

    async def _dispatch(self, session: Session, request: pb.WebSocketMessage) -> None:
        kind = request.WhichOneof("payload") or _NO_PAYLOAD
        self.counters.requests_by_type[kind] += 1
        self.counters.requests_by_message_id[request.message_id] += 1
        logger.debug("request %s %s from user %s", kind, request.message_id, session.user_id)
        # As pm-server's dispatcher: the whole handling, pings included, under one timeout. Handling
        # itself never awaits, so only the handling-delay fault can outlast it: the timer is armed
        # for that alone, which keeps it off the hot path.
        delay = self.faults.handling_delay
        if delay > 0:
            try:
                async with asyncio.timeout(self._handler_timeout):
                    await self._sleep(delay)
            except TimeoutError:
                self.counters.handler_timeouts += 1
                logger.debug("request %s %s timed out", kind, request.message_id)
                timeout = error_envelope(request.message_id, int(self._now()), "TIMEOUT", TIMEOUT_MESSAGE)
                await self._answer(session, timeout, is_pong=False)
                return
        answer = self._handle(session, request, kind)
        if answer is not None:
            await self._answer(session, answer, is_pong=kind == "ping")

    def _handle(self, session: Session, request: pb.WebSocketMessage, kind: str) -> bytes | None:
        """The answer to one request (None: a swallowed pong); broadcasts are sent on the way."""
        timestamp = int(self._now())
        if kind == "ping":
            if self.faults.take_swallow_pong():
                return None
            pong = pb.WebSocketMessage(message_id=request.message_id, timestamp=timestamp)
            pong.pong.timestamp = request.ping.timestamp
            return pong.SerializeToString()
        failure = self.faults.take_failure()
        if failure is not None:
            answer = error_envelope(request.message_id, timestamp, *failure)
        elif kind in ("subscribe", "unsubscribe"):
            change = getattr(request, kind)
            if kind == "subscribe":
                session.projects.update(change.project_ids)
                session.sprints.update(change.sprint_ids)
            else:
                session.projects.difference_update(change.project_ids)
                session.sprints.difference_update(change.sprint_ids)
            answer = pb.WebSocketMessage(
                message_id=request.message_id, timestamp=timestamp
            ).SerializeToString()
        elif kind in ENTITY_REQUESTS:
            answer = self._handle_entity_request(session, request, kind, timestamp)
        else:
            # As pm-server: no payload, or one that is not a request (a Pong, an event).
            answer = error_envelope(
                request.message_id, timestamp, "INVALID_MESSAGE", UNSUPPORTED_PAYLOAD_MESSAGE
            )
        return answer

    def _handle_entity_request(
        self, session: Session, request: pb.WebSocketMessage, kind: str, timestamp: int
    ) -> bytes:
        """Run a request through the handler, behind pm-server's own circuit breaker."""
        breaker = self.breaker
        if breaker is not None and uses_database(kind):
            retry_after = breaker.retry_after()
            if retry_after is not None:
                self.counters.breaker_rejections += 1
                message = SERVICE_UNAVAILABLE_MESSAGE.format(seconds=retry_after)
                return error_envelope(request.message_id, timestamp, "SERVICE_UNAVAILABLE", message)
        assert self.handler is not None
        outcome = self.handler.handle(session.user_id, request)
        for broadcast in outcome.broadcasts:
            self._broadcast(broadcast)
        if breaker is not None:
            code, field = outcome.error or (None, None)
            for effect in breaker_effects(kind, code, field):
                breaker.record(effect)
        return outcome.answer

    async def _answer(self, session: Session, frame: bytes, *, is_pong: bool) -> None:
        if self.faults.delay > 0:
            await self._sleep(self.faults.delay)
        if not is_pong and self.faults.take_swallow():
            self.counters.answers_swallowed += 1
            return
        session.send(frame)

    def _broadcast(self, broadcast: Broadcast) -> None:
        """To the project's subscribers, and the sprint's when it is a sprint's activity entry."""
        for session in self._sessions:
            if broadcast.project_id in session.projects or (
                broadcast.sprint_id is not None and broadcast.sprint_id in session.sprints
            ):
                session.send(broadcast.frame)
