"""The exception hierarchy of the pm-ws client (design.md section 4).

::

    ProjectManagementException
     +-- ConnectionException           transport lost or refused            (transient)
     |    +-- RateLimitClosedException the server closed us with 1008 for   (transient, not a
     |                                 five rate-limit refusals in a row    breaker failure)
     +-- RequestTimeoutException       no answer within RequestTimeout      (transient)
     +-- ServerRejectedException       the server answered ``Error``        (transient only for
     |    |                            SERVICE_UNAVAILABLE and TIMEOUT)
     |    +-- VersionConflictException CONFLICT: expected_version was stale (never retried)
     |    +-- BusinessRuleConflictException
     |                                 CONFLICT at the current version: a   (never retried)
     |                                 rule refused it (a second active
     |                                 sprint, a completed sprint)
     +-- UpdateNotAppliedException     the answer to an update lacks fields (never retried)
     |                                 the request set (a pm-server quirk)
     +-- ValidationException           client- or server-side validation    (never retried)
     +-- CircuitOpenException          the breaker rejected the call        (never retried)
     +-- RateLimitExceededException    no send token within the timeout     (never retried)
     +-- ResponseTooLargeException     the answer exceeded MaxMessageSize   (never retried)

A create whose outcome is unknown (a transient failure after its frame may have reached the server)
keeps its type (``except ConnectionException`` still catches it) and carries the operation's
``idempotency_key``: re-sending the create with that key is answered from the server's idempotency
store instead of creating a second item (see ``outcome_unknown``).

Every exception carries structured data and builds its message from it, so callers branch on
attributes rather than parse text. ``VersionConflictException`` and
``BusinessRuleConflictException`` are ``ServerRejectedException`` (code CONFLICT) so that a handler
for server answers sees them too; they are siblings, so ``except VersionConflictException`` (re-read
and retry the edit) never catches a rule the current version cannot satisfy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final
from uuid import UUID

if TYPE_CHECKING:
    from projectmanagement_core.proto import messages_pb2

__all__ = [
    "BusinessRuleConflictException",
    "CircuitOpenException",
    "ConnectionException",
    "ErrorCode",
    "FieldError",
    "ProjectManagementException",
    "RateLimitClosedException",
    "RateLimitExceededException",
    "RequestTimeoutException",
    "ResponseTooLargeException",
    "ServerRejectedException",
    "UpdateNotAppliedException",
    "ValidationException",
    "VersionConflictException",
    "exception_from_error",
]


class ErrorCode:
    """The ``Error.code`` strings pm-server sends (``pm-ws/src/error.rs`` and its dispatcher)."""

    VALIDATION_ERROR: Final = "VALIDATION_ERROR"
    INVALID_MESSAGE: Final = "INVALID_MESSAGE"
    NOT_FOUND: Final = "NOT_FOUND"
    UNAUTHORIZED: Final = "UNAUTHORIZED"
    CONFLICT: Final = "CONFLICT"
    DELETE_BLOCKED: Final = "DELETE_BLOCKED"
    SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
    TIMEOUT: Final = "TIMEOUT"
    DATABASE_ERROR: Final = "DATABASE_ERROR"
    INTERNAL_ERROR: Final = "INTERNAL_ERROR"

    #: Codes where the server says "try again": retried and counted as breaker failures.
    TRANSIENT: Final = frozenset({SERVICE_UNAVAILABLE, TIMEOUT})
    #: Codes that prove the server is healthy: never breaker failures.
    HEALTHY: Final = frozenset(
        {VALIDATION_ERROR, INVALID_MESSAGE, NOT_FOUND, UNAUTHORIZED, CONFLICT, DELETE_BLOCKED}
    )
    #: Codes that may carry internals (SQL) and must never be shown verbatim to users.
    SERVER_FAULT: Final = frozenset({DATABASE_ERROR, INTERNAL_ERROR})


class ProjectManagementException(Exception):
    """Base of every exception this library raises on purpose.

    ``idempotency_key`` is set (by the resilient client and the stores) on the failure of a create
    whose outcome is unknown: the server may or may not have applied it. Pass it back as
    ``idempotency_key=`` to re-send the create safely. None on every other failure.
    """

    idempotency_key: str | None = None

    @property
    def outcome_unknown(self) -> bool:
        """True when the failed operation may have been applied (and ``idempotency_key`` says how
        to re-send it without a duplicate)."""
        return self.idempotency_key is not None


class ConnectionException(ProjectManagementException):
    """The connection was lost, refused, or is not open. Transient."""

    def __init__(self, message: str = "connection lost", *, close_code: int | None = None) -> None:
        self.close_code = close_code
        suffix = f" (close code {close_code})" if close_code is not None else ""
        super().__init__(f"{message}{suffix}")


class RequestTimeoutException(ProjectManagementException):
    """No answer arrived within ``RequestTimeout``. Transient."""

    def __init__(self, operation: str, timeout: timedelta, message_id: str | None = None) -> None:
        self.operation = operation
        self.timeout = timeout
        self.message_id = message_id
        super().__init__(f"{operation} got no answer within {timeout.total_seconds():g} s")


class ServerRejectedException(ProjectManagementException):
    """The server answered with ``Error``.

    ``message`` is the server's text. For DATABASE_ERROR and INTERNAL_ERROR it may hold SQL or
    other internals, so ``str()`` of the exception shows only the code for those (the text stays
    available in ``server_message`` for logs an operator reads).
    """

    def __init__(self, code: str, message: str = "", field: str | None = None) -> None:
        self.code = code
        self.server_message = message
        self.field = field
        #: pm-server's own hint in a SERVICE_UNAVAILABLE ("... Retry after N seconds"), else None.
        self.retry_after: timedelta | None = _retry_after(code, message)
        shown = _shown_text(code, message)
        where = f" (field {field})" if field else ""
        super().__init__(f"{code}: {shown}{where}" if shown else f"{code}{where}")

    @property
    def message(self) -> str:
        """The server's text as received (may leak internals for server faults)."""
        return self.server_message

    @property
    def is_transient(self) -> bool:
        """True when the server says "try again" (SERVICE_UNAVAILABLE, TIMEOUT)."""
        return self.code in ErrorCode.TRANSIENT


_RETRY_AFTER = re.compile(r"retry after (\d+) seconds?", re.IGNORECASE)


def _retry_after(code: str, message: str) -> timedelta | None:
    if code != ErrorCode.SERVICE_UNAVAILABLE:
        return None
    match = _RETRY_AFTER.search(message)
    return timedelta(seconds=int(match.group(1))) if match else None


def _shown_text(code: str, message: str) -> str:
    """What a user may see of a server's text: never the internals of a server fault."""
    if code not in ErrorCode.SERVER_FAULT:
        return message
    if code == ErrorCode.DATABASE_ERROR and "constraint failed" in message.lower():
        # pm-server passes SQLite's refusal on: the request's values, not the server, are at fault.
        return (
            "the server's database refused the values (a constraint failed: e.g. an unknown sprint, "
            "assignee or parent id)"
        )
    return "the server reported an internal fault"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One validation failure: which field and what rule it broke."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationException(ProjectManagementException):
    """A request is invalid: every broken rule is listed in ``errors``. Never retried."""

    def __init__(self, errors: list[FieldError] | FieldError, *, code: str | None = None) -> None:
        self.errors: list[FieldError] = [errors] if isinstance(errors, FieldError) else list(errors)
        self.code = code
        super().__init__("invalid request: " + "; ".join(str(e) for e in self.errors))

    @property
    def fields(self) -> list[str]:
        """The names of the invalid fields, in the order reported."""
        return [e.field for e in self.errors]


_CURRENT_VERSION = re.compile(r"current version:?\s*(-?\d+)", re.IGNORECASE)


class VersionConflictException(ServerRejectedException):
    """``expected_version`` was stale (CONFLICT). Carries what the server told us. Never retried."""

    def __init__(
        self,
        entity_id: UUID | str | None = None,
        expected_version: int | None = None,
        current_version: int | None = None,
        message: str = "",
    ) -> None:
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.current_version = current_version
        text = message or (
            f"version conflict on {entity_id}: expected {expected_version}, current {current_version}"
        )
        super().__init__(ErrorCode.CONFLICT, text)

    @staticmethod
    def parse_current_version(message: str) -> int | None:
        """Read N from pm-server's "current version: N" text, or None when absent."""
        match = _CURRENT_VERSION.search(message)
        return int(match.group(1)) if match else None


class BusinessRuleConflictException(ServerRejectedException):
    """CONFLICT although ``expected_version`` was current: a server rule refused the change.

    pm-server answers CONFLICT, with the *current* version in its text, for sprint rules too: a
    second active sprint in a project, any update of a completed sprint. Re-reading and sending
    again cannot help, so this is never retried, never a breaker failure and never mistaken by the
    idempotency logic for "our earlier attempt already applied".
    """

    def __init__(
        self,
        entity_id: UUID | str | None = None,
        current_version: int | None = None,
        message: str = "",
    ) -> None:
        self.entity_id = entity_id
        self.current_version = current_version
        text = message or f"the server refused the change to {entity_id} at its current version"
        super().__init__(ErrorCode.CONFLICT, text)


class UpdateNotAppliedException(ProjectManagementException):
    """The server answered an update without the fields it set: the change was not stored.

    pm-server v0.1.4 answers an update that changes only priority, story points or sprint as a
    no-op and does not store it. Rather than let such a change vanish, the client compares the
    answer with the request and raises this. ``entity`` is the server's copy (the truth now),
    ``dropped_fields`` the requested fields it does not hold. Never retried: the same request
    would be dropped again.
    """

    def __init__(self, operation: str, entity: object, dropped_fields: tuple[str, ...]) -> None:
        self.operation = operation
        self.entity = entity
        self.dropped_fields = dropped_fields
        entity_id = getattr(entity, "id", None)
        version = getattr(entity, "version", None)
        super().__init__(
            f"{operation}: the server did not store {', '.join(dropped_fields)} of {entity_id} "
            f"(its copy is at version {version}); a known pm-server quirk drops updates of "
            "priority, story points or sprint when nothing else changes"
        )


class CircuitOpenException(ProjectManagementException):
    """The circuit breaker rejected the call without trying it. Never retried."""

    def __init__(self, retry_after: timedelta, state: str = "Open") -> None:
        self.retry_after = retry_after
        self.state = state
        super().__init__(
            f"circuit is {state}: call rejected, retry after {retry_after.total_seconds():.3f} s"
        )


class RateLimitClosedException(ConnectionException):
    """The server closed the connection for exceeding its rate limit (pm-server: 1008, five refusals
    in a row). Transient (the request was never handled), but not evidence of a server outage."""

    def __init__(self, reason: str = "", *, close_code: int = 1008) -> None:
        self.reason = reason
        text = (
            f"closed by the server for exceeding its rate limit: {reason}"
            if reason
            else ("closed by the server for exceeding its rate limit")
        )
        super().__init__(text, close_code=close_code)


class RateLimitExceededException(ProjectManagementException):
    """The client-side rate limiter has no token for this frame within the operation's timeout.

    Nothing was sent. ``retry_after`` says when the next token comes. Never retried, and not a
    circuit-breaker failure: it says the caller is sending faster than the server allows.
    """

    def __init__(
        self, retry_after: timedelta, operation: str | None = None, timeout: timedelta | None = None
    ) -> None:
        self.retry_after = retry_after
        self.operation = operation
        self.timeout = timeout
        what = operation or "request"
        within = f" within {timeout.total_seconds():g} s" if timeout is not None else ""
        super().__init__(
            f"{what}: rate limit reached, no send token{within}; "
            f"next token in {retry_after.total_seconds():.3f} s"
        )


class ResponseTooLargeException(ProjectManagementException):
    """The answer to this request was larger than ``MaxMessageSize`` and was dropped unread.

    Raised at once (the request does not wait for its timeout). Never retried: the same request
    gets the same answer; raise the option or ask for less.
    """

    OPTION: Final = "ProjectManagement:WebSocket:MaxMessageSize"

    def __init__(self, operation: str, size: int, limit: int, message_id: str | None = None) -> None:
        self.operation = operation
        self.size = size
        self.limit = limit
        self.message_id = message_id
        super().__init__(
            f"{operation}: the answer is {size} bytes, larger than {self.OPTION} ({limit} bytes); "
            "it was dropped unread"
        )


def exception_from_error(
    error: messages_pb2.Error,
    *,
    entity_id: UUID | str | None = None,
    expected_version: int | None = None,
) -> ProjectManagementException:
    """Map a wire ``Error`` to its exception (the table in the README).

    ``entity_id`` and ``expected_version`` come from the request that failed, so that a CONFLICT
    carries the whole story (the wire only carries the current version, inside the text). A
    CONFLICT is a ``VersionConflictException`` only when its text names a current version other
    than the expected one; otherwise it is a ``BusinessRuleConflictException``.
    """
    code = error.code
    field = error.field if error.HasField("field") else None
    if code in (ErrorCode.VALIDATION_ERROR, ErrorCode.INVALID_MESSAGE):
        return ValidationException(FieldError(field or "request", error.message), code=code)
    if code == ErrorCode.CONFLICT:
        current = VersionConflictException.parse_current_version(error.message)
        if current is None or current == expected_version:
            # pm-server's sprint rules answer CONFLICT at the current version: not a stale edit.
            return BusinessRuleConflictException(entity_id, current, error.message)
        return VersionConflictException(
            entity_id=entity_id,
            expected_version=expected_version,
            current_version=current,
            message=error.message,
        )
    return ServerRejectedException(code, error.message, field)
