"""The reference server's request semantics: which handler runs a request, in one transaction.

Pure with respect to the network: :meth:`RequestHandler.handle` takes a decoded request and the
caller's identity and returns an :class:`Outcome` (the answer frame and the broadcasts); the server
decides when and to whom they are sent. Each request runs synchronously in one SQLite transaction, so
it is atomic and never interleaves with another. The handlers themselves follow pm-server v0.1.4 (one
module per entity); a database error rolls the request back and answers DATABASE_ERROR, as pm-server's
does, with the message shape it uses.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import project_handlers, sprint_handlers, work_item_handlers
from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.handler_context import Broadcast, HandlerContext, Replayed
from projectmanagement_services.testing.rejection import RequestRejected, database_error
from projectmanagement_services.testing.store import SqliteStore

__all__ = ["ENTITY_REQUESTS", "Broadcast", "Outcome", "RequestHandler", "error_envelope"]

_Handler = Callable[[HandlerContext, Any], None]

_HANDLERS: Final[dict[str, _Handler]] = {
    "create_work_item_request": work_item_handlers.create_work_item,
    "update_work_item_request": work_item_handlers.update_work_item,
    "delete_work_item_request": work_item_handlers.delete_work_item,
    "get_work_items_request": work_item_handlers.get_work_items,
    "create_sprint_request": sprint_handlers.create_sprint,
    "update_sprint_request": sprint_handlers.update_sprint,
    "delete_sprint_request": sprint_handlers.delete_sprint,
    "get_sprints_request": sprint_handlers.get_sprints,
    "create_project_request": project_handlers.create_project,
    "update_project_request": project_handlers.update_project,
    "delete_project_request": project_handlers.delete_project,
    "list_projects_request": project_handlers.list_projects,
}

#: The payloads :meth:`RequestHandler.handle` understands: every ``*_request`` of the envelope's payload
#: oneof (ping and (un)subscribe are about the connection, which the server handles itself). Read from the
#: proto so it cannot drift from the wire contract; a new ``*_request`` there needs its handler above.
ENTITY_REQUESTS: Final = frozenset(
    field.name
    for field in pb.WebSocketMessage.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.name.endswith("_request")
)
#: Creates are de-duplicated by message_id; nothing else is.


@dataclass(frozen=True)
class Outcome:
    """What one request produced.

    Attributes:
        answer: The serialized answer envelope for the requester.
        broadcasts: Frames for subscribers, in sending order.
        error: The ``Error`` answer's (code, field) when the answer is one, so pm-server's breaker
            can judge it without decoding the answer again.
    """

    answer: bytes
    broadcasts: tuple[Broadcast, ...] = ()
    error: tuple[str, str | None] | None = None


def error_envelope(
    message_id: str, timestamp: int, code: str, message: str, field: str | None = None
) -> bytes:
    """A serialized ``Error`` answer."""
    envelope = pb.WebSocketMessage(message_id=message_id, timestamp=timestamp)
    envelope.error.code = code
    envelope.error.message = message
    if field is not None:
        envelope.error.field = field
    return envelope.SerializeToString()


class RequestHandler:
    """Applies entity requests (work items, sprints, projects) to a :class:`SqliteStore`.

    Args:
        store: Where entities live.
        counters: Incremented for applied creates and served replays.
        now: Wall-clock Unix seconds, for timestamps and the sprint date range (injected so tests can
            pin time).
        new_id: Fresh UUID strings for new entities, broadcasts and activity entries.
    """

    def __init__(
        self,
        store: SqliteStore,
        counters: ServerCounters,
        now: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        missing = ENTITY_REQUESTS - _HANDLERS.keys()
        if missing:
            raise RuntimeError(f"no handler for {sorted(missing)}")
        self._store = store
        self._counters = counters
        self._now = now
        self._new_id = new_id

    def handle(self, user_id: str, request: pb.WebSocketMessage) -> Outcome:
        """Run one request; every failure becomes an ``Error`` answer, never an exception."""
        kind = request.WhichOneof("payload")
        if kind not in ENTITY_REQUESTS:
            raise ValueError(f"not an entity request: {kind}")
        payload = getattr(request, kind)
        digest = hashlib.sha256(kind.encode() + b"\0" + payload.SerializeToString(deterministic=True))
        ctx = HandlerContext(
            self._store, user_id, request.message_id, int(self._now()), self._new_id, digest.digest()
        )
        try:
            with self._store.transaction():
                _HANDLERS[kind](ctx, payload)
                assert ctx.reply is not None, f"{kind} set no answer"
                answer = ctx.reply.SerializeToString()
                if ctx.store_answer:
                    self._store.store_answer(user_id, request.message_id, ctx.request_digest, answer)
        except Replayed as replay:
            self._counters.replays_served += 1
            return Outcome(replay.answer)
        except RequestRejected as exc:
            return Outcome(
                error_envelope(request.message_id, ctx.timestamp, exc.code, exc.message, exc.field),
                error=(exc.code, exc.field),
            )
        except sqlite3.Error as exc:
            rejected = database_error(_sqlx_text(exc))
            return Outcome(
                error_envelope(request.message_id, ctx.timestamp, rejected.code, rejected.message),
                error=(rejected.code, None),
            )
        if ctx.store_answer:
            self._counters.creates_applied += 1
        return Outcome(answer, tuple(ctx.broadcasts))


def _sqlx_text(exc: sqlite3.Error) -> str:
    """How pm-server's DbError displays an SQLite failure (less its source location)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return f"SQLx error: error returned from database: (code: {code}) {exc}"
