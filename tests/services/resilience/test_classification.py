"""What is retried and what counts against the server's health: one table, checked row by row."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)
from websockets.http11 import Response

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    FieldError,
    RequestTimeoutException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_services.resilience.classification import is_breaker_failure, is_transient
from projectmanagement_services.websocket.connection import HandshakeRejectedException


def status(code: int) -> InvalidStatus:
    return InvalidStatus(Response(code, "", Headers()))


#: (exception, transient?, breaker failure?)
TABLE: list[tuple[BaseException, bool, bool]] = [
    (ConnectionException(), True, True),
    (RequestTimeoutException("GetWorkItem", timedelta(seconds=30)), True, True),
    (ConnectionClosedError(None, None), True, True),
    (ConnectionClosedOK(None, None), True, True),
    (InvalidMessage("did not receive a valid HTTP response"), True, True),
    (status(503), True, True),
    (status(429), True, True),
    (status(401), False, False),  # a decisive refusal: the server is up and said no
    (status(403), False, False),
    # The same statuses once the transport adapter has translated them.
    (HandshakeRejectedException(503), True, True),
    (HandshakeRejectedException(429), True, True),
    (HandshakeRejectedException(401), False, False),
    (HandshakeRejectedException(403), False, False),
    (OSError("connection refused"), True, True),
    (ConnectionRefusedError(), True, True),
    (TimeoutError(), True, True),
    (ServerRejectedException(ErrorCode.SERVICE_UNAVAILABLE), True, True),
    (ServerRejectedException(ErrorCode.TIMEOUT), True, True),
    (ServerRejectedException(ErrorCode.DATABASE_ERROR), False, True),
    (ServerRejectedException(ErrorCode.INTERNAL_ERROR), False, True),
    (ServerRejectedException("SOMETHING_NEW"), False, True),  # unknown answer: not proof of health
    (ServerRejectedException(ErrorCode.NOT_FOUND), False, False),
    (ServerRejectedException(ErrorCode.UNAUTHORIZED), False, False),
    (ServerRejectedException(ErrorCode.DELETE_BLOCKED), False, False),
    (ServerRejectedException(ErrorCode.VALIDATION_ERROR), False, False),
    (ServerRejectedException(ErrorCode.INVALID_MESSAGE), False, False),
    (VersionConflictException("id-1", 1, 2), False, False),
    # pm-server v0.1.4's own texts (pm-ws/src/error.rs and its dispatcher).
    (
        ServerRejectedException(
            ErrorCode.SERVICE_UNAVAILABLE, "Service temporarily unavailable. Retry after 30 seconds"
        ),
        True,
        True,
    ),
    (ServerRejectedException(ErrorCode.TIMEOUT, "Request timed out. Please try again."), True, True),
    (
        ServerRejectedException(ErrorCode.DATABASE_ERROR, "Database error: pool timed out while waiting"),
        False,
        True,
    ),
    (
        ServerRejectedException(
            ErrorCode.DATABASE_ERROR,
            "Database error: error returned from database: (code: 275) CHECK constraint failed: status",
        ),
        False,
        False,  # the request's data broke a rule ('blocked'): the database is answering
    ),
    (
        ServerRejectedException(
            ErrorCode.DATABASE_ERROR,
            "Database error: error returned from database: (code: 787) FOREIGN KEY constraint failed",
        ),
        False,
        False,  # an unknown sprint or assignee id
    ),
    (
        BusinessRuleConflictException("id-1", 3, "Conflict: resource was modified (current version: 3)"),
        False,
        False,
    ),
    (
        ServerRejectedException(ErrorCode.UNAUTHORIZED, "Unauthorized: Not a member of this project"),
        False,
        False,
    ),
    (UpdateNotAppliedException("UpdateWorkItem", object(), ("priority",)), False, False),
    (ValidationException(FieldError("title", "required")), False, False),
    (CircuitOpenException(timedelta(seconds=1)), False, False),
    (asyncio.CancelledError(), False, False),
    (KeyboardInterrupt(), False, False),
    (KeyError("a bug in local code"), False, False),
    (InvalidURI("http://x", "not a ws URI"), False, False),  # configuration, not an outage
]


@pytest.mark.parametrize(("exc", "transient", "failure"), TABLE, ids=lambda v: type(v).__name__)
def test_classification_table(exc: BaseException, transient: bool, failure: bool) -> None:
    assert is_transient(exc) is transient
    assert is_breaker_failure(exc) is failure
