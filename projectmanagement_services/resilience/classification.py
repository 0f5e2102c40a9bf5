"""Which errors are worth retrying, and which say the server is unhealthy.

Two questions, two answers, one place (design.md section 4):

* ``is_transient(exc)``: would the same request probably succeed if sent again a little later?
  The retry policy retries exactly these.
* ``is_breaker_failure(exc)``: does this error count against the server's health? The circuit
  breaker counts exactly these.

Every transient error is a breaker failure; the converse does not hold (DATABASE_ERROR and
INTERNAL_ERROR say the server is sick, but sending the same request again is not expected to help:
pm-server has already retried its own database calls before answering DATABASE_ERROR).

Read against pm-server v0.1.4's codes and texts (``pm-ws/src/error.rs``, its dispatcher):
SERVICE_UNAVAILABLE ("Service temporarily unavailable. Retry after N seconds": its own breaker is
open) and TIMEOUT (its 30 s handler timeout) are transient. VALIDATION_ERROR, INVALID_MESSAGE,
NOT_FOUND, UNAUTHORIZED, CONFLICT (both kinds) and DELETE_BLOCKED are caller errors: the server is
working. A DATABASE_ERROR whose text says a constraint failed (a status its CHECK refuses, an
unknown sprint or assignee id hitting a FOREIGN KEY) is the request's fault too, so it does not
count against the server either.

Exceptions this library does not know (``KeyError`` from a caller's own code, say) are *neither*:
the transport adapter translates every network problem into ``ConnectionException`` or
``RequestTimeoutException`` at the boundary, so an unknown exception is a local bug, and a local bug
must not open the breaker for every other caller. Cancellation (``asyncio.CancelledError``) and the
other ``BaseException`` subclasses are never failures either: they say nothing about the server.
"""

from __future__ import annotations

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from projectmanagement_core.exceptions import (
    ConnectionException,
    ErrorCode,
    RateLimitClosedException,
    RequestTimeoutException,
    ServerRejectedException,
)
from projectmanagement_services.websocket.connection import HandshakeRejectedException

__all__ = ["is_breaker_failure", "is_constraint_violation", "is_transient"]

# A handshake refused with one of these HTTP statuses is a decision, not an accident
# (401/403/404...): retrying cannot help and the server is evidently up. 408 and 429 are the
# 4xx statuses that do mean "later".
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})
# SQLite's words for a refused row, as pm-server passes them on in a DATABASE_ERROR's text.
_CONSTRAINT_FAILED = "constraint failed"


def _is_decisive_status(status: int) -> bool:
    return 400 <= status < 500 and status not in _RETRYABLE_CLIENT_STATUSES


def is_transient(exc: BaseException) -> bool:
    """True for errors where the same request may succeed later: retry these, nothing else.

    Transient: ``ConnectionException``, ``RequestTimeoutException``, ``OSError`` (which includes
    ``TimeoutError`` and so ``asyncio.TimeoutError``), websockets' ``ConnectionClosed`` and
    ``InvalidHandshake`` (except a handshake refused with a 4xx status other than 408/429), and
    ``ServerRejectedException`` with code SERVICE_UNAVAILABLE or TIMEOUT. Never transient:
    validation errors, version conflicts, ``CircuitOpenException`` (the breaker already said
    "not now"; retrying it would only spin), every other server code, cancellation.
    """
    if isinstance(exc, ServerRejectedException):
        return exc.code in ErrorCode.TRANSIENT
    if isinstance(exc, InvalidStatus):
        return not _is_decisive_status(exc.response.status_code)
    if isinstance(exc, HandshakeRejectedException):  # the adapter's translation of InvalidStatus
        return not _is_decisive_status(exc.status_code)
    return isinstance(
        exc, ConnectionException | RequestTimeoutException | OSError | ConnectionClosed | InvalidHandshake
    )


def is_constraint_violation(exc: BaseException) -> bool:
    """True for a DATABASE_ERROR caused by the request's data (a CHECK or FOREIGN KEY refused it)."""
    return (
        isinstance(exc, ServerRejectedException)
        and exc.code == ErrorCode.DATABASE_ERROR
        and _CONSTRAINT_FAILED in exc.server_message.lower()
    )


def is_breaker_failure(exc: BaseException) -> bool:
    """True for errors that count against the server's health in the circuit breaker.

    Failures: every transient error, plus any ``ServerRejectedException`` whose code is not in
    ``ErrorCode.HEALTHY`` (DATABASE_ERROR, INTERNAL_ERROR, and codes this client does not know:
    an answer we cannot classify is not evidence of health). Not failures: answers that prove the
    server is working (VALIDATION_ERROR, NOT_FOUND, UNAUTHORIZED, CONFLICT, DELETE_BLOCKED, ...),
    a DATABASE_ERROR for a constraint the request broke, client-side ``ValidationException``,
    ``UpdateNotAppliedException``, ``CircuitOpenException``, cancellation, exceptions this library
    does not know (see the module docstring for why), and a rate-limit close
    (``RateLimitClosedException``: the server is up and policing this client's traffic; a client
    kicked for its own rate must not open the breaker for every caller). ``RateLimitExceededException``
    (the client's own limiter) is neither transient nor a failure.
    """
    if isinstance(exc, ServerRejectedException):
        return exc.code not in ErrorCode.HEALTHY and not is_constraint_violation(exc)
    if isinstance(exc, RateLimitClosedException):
        return False
    return is_transient(exc)
