"""What every request handler of the reference server shares: its context, answer and broadcasts.

A handler is a function ``(ctx, request) -> None`` that reads and writes ``ctx.store``, sets the answer
with :meth:`HandlerContext.answer` and queues broadcasts; it refuses a request by raising
:class:`~projectmanagement_services.testing.rejection.RequestRejected`, and a create that was
already applied by raising :class:`Replayed`. The rules common to handlers (membership and roles,
idempotency, activity entries) live here, spelled as pm-server's ``authorization.rs``,
``idempotency.rs`` and ``pm-core/models/activity_log.rs`` (idempotency keyed per user and request:
a deliberate difference, see :meth:`HandlerContext.check_replay`).
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.rejection import invalid_message, unauthorized
from projectmanagement_services.testing.store import SqliteStore

__all__ = [
    "Broadcast",
    "HandlerContext",
    "Permission",
    "Replayed",
    "render_timestamp",
]


class Permission(enum.Enum):
    """pm-core's ``Permission``; the value is how pm-server's error text spells it (``{:?}``)."""

    VIEW = "View"
    EDIT = "Edit"
    ADMIN = "Admin"


#: pm-core's ``ProjectMember::has_permission``.
_GRANTS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({Permission.VIEW}),
    "editor": frozenset({Permission.VIEW, Permission.EDIT}),
    "admin": frozenset(Permission),
}


class Replayed(Exception):
    """A create whose message_id already has a stored answer: that answer is the reply, unchanged."""

    def __init__(self, answer: bytes) -> None:
        super().__init__("replayed")
        self.answer = answer


@dataclass(frozen=True)
class Broadcast:
    """One frame for subscribers: those of ``project_id``, and those of ``sprint_id`` when set.

    pm-server routes a sprint's ActivityLogCreated to the sprint's subscribers too; everything else
    goes to the project's subscribers only.
    """

    project_id: str
    frame: bytes
    sprint_id: str | None = None


@dataclass
class HandlerContext:
    """One request being handled."""

    store: SqliteStore
    user_id: str
    message_id: str
    timestamp: int
    new_id: Callable[[], str]
    #: What a replay must match besides user and message_id: a digest of the request's kind and payload.
    request_digest: bytes = b""
    reply: pb.WebSocketMessage | None = None
    broadcasts: list[Broadcast] = field(default_factory=list)
    #: Creates set this: the answer is stored under the message_id once the request succeeded.
    store_answer: bool = False

    def envelope(self, message_id: str | None = None) -> pb.WebSocketMessage:
        fresh = self.new_id() if message_id is None else message_id
        return pb.WebSocketMessage(message_id=fresh, timestamp=self.timestamp)

    def answer(self) -> pb.WebSocketMessage:
        """The answer envelope (carrying the request's message_id), for the handler to fill in."""
        self.reply = self.envelope(self.message_id)
        return self.reply

    def check_replay(self) -> None:
        """``check_idempotency``, keyed by (user, message_id) and checked against the request's digest.

        pm-server keys by message_id alone, so anyone re-sending another user's id gets that user's
        answer (the README's pm-server quirks): here only the same user re-sending the same request
        replays; the same user re-using the id for another request is INVALID_MESSAGE, and another
        user's id is simply a new request of theirs.
        """
        stored = self.store.stored_answer(self.user_id, self.message_id)
        if stored is not None:
            digest, answer = stored
            if digest != self.request_digest:
                raise invalid_message(
                    f"message_id {self.message_id!r} was already used for a different request"
                )
            raise Replayed(answer)
        self.store_answer = True

    def require(self, project_id: str, permission: Permission) -> None:
        """``check_permission``: a project nobody is a member of (or that does not exist) is UNAUTHORIZED."""
        role = self.store.member_role(project_id, self.user_id)
        if role is None:
            raise unauthorized("Not a member of this project")
        if permission not in _GRANTS.get(role, frozenset()):
            raise unauthorized(f"Insufficient permission. Required: {permission.value}, have: {role}")

    def activity(
        self, entity_type: str, entity_id: str, action: str, changes: Sequence[pb.FieldChange] = ()
    ) -> pb.ActivityLogEntry:
        """An activity entry as ``ActivityLog::created/updated/deleted``: never a field, old or new value."""
        entry = pb.ActivityLogEntry(
            id=self.new_id(),
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            user_id=self.user_id,
            timestamp=self.timestamp,
        )
        if changes:
            entry.comment = f"{len(changes)} fields changed"
        return entry

    def broadcast(
        self,
        project_id: str,
        entry: pb.ActivityLogEntry,
        event: pb.WebSocketMessage,
        sprint_id: str | None = None,
    ) -> None:
        """Queue ActivityLogCreated, then the entity event under a fresh message id, as pm-server sends them."""
        activity = self.envelope()
        activity.activity_log_created.entry.CopyFrom(entry)
        self.broadcasts.append(Broadcast(project_id, activity.SerializeToString(), sprint_id))
        self.broadcasts.append(Broadcast(project_id, event.SerializeToString()))

    def event_like_answer(self) -> pb.WebSocketMessage:
        """A copy of the answer under a fresh message id: the broadcast of a mutation."""
        assert self.reply is not None
        event = pb.WebSocketMessage()
        event.CopyFrom(self.reply)
        event.message_id = self.new_id()
        return event


def render_timestamp(seconds: int) -> str | None:
    """chrono's ``DateTime::from_timestamp(seconds, 0)?.to_rfc3339()``; None where chrono has no date.

    Computed by hand because chrono's range (years -262144 to 262143) is far wider than Python's.
    """
    days, rest = divmod(seconds, 86_400)
    year, month, day = _civil_from_days(days)
    if not -262_144 <= year <= 262_143:
        return None
    clock = datetime.timedelta(seconds=rest)
    hours, minutes = divmod(int(clock.total_seconds()) // 60, 60)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    return f"{year_text}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{rest % 60:02d}+00:00"


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's algorithm)."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day
