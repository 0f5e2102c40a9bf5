"""The exception hierarchy, its structured attributes, and the wire ``Error`` mapper."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    FieldError,
    ProjectManagementException,
    RequestTimeoutException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
    exception_from_error,
)
from projectmanagement_core.proto import messages_pb2 as pb

ITEM = UUID("11111111-1111-4111-8111-111111111111")

#: protocol.md's error table: code -> (exception type, transient?).
PROTOCOL_CODES: dict[str, tuple[type[ProjectManagementException], bool]] = {
    "VALIDATION_ERROR": (ValidationException, False),
    "INVALID_MESSAGE": (ValidationException, False),
    "NOT_FOUND": (ServerRejectedException, False),
    "UNAUTHORIZED": (ServerRejectedException, False),
    # A CONFLICT without a current version in its text is not a stale version (see the split below).
    "CONFLICT": (BusinessRuleConflictException, False),
    "DELETE_BLOCKED": (ServerRejectedException, False),
    "SERVICE_UNAVAILABLE": (ServerRejectedException, True),
    "TIMEOUT": (ServerRejectedException, True),
    "DATABASE_ERROR": (ServerRejectedException, False),
    "INTERNAL_ERROR": (ServerRejectedException, False),
}
_REJECTED = [code for code, (kind, _) in PROTOCOL_CODES.items() if kind is ServerRejectedException]
_SQL = 'ERROR: duplicate key value violates unique constraint "work_items_pkey" (SELECT * FROM users)'


def _error(code: str, message: str = "", field: str | None = None) -> pb.Error:
    error = pb.Error(code=code, message=message)
    if field is not None:
        error.field = field
    return error


def test_error_codes_are_exactly_the_protocol_table() -> None:
    constants = {v for k, v in vars(ErrorCode).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(PROTOCOL_CODES)


def test_code_sets_partition_the_codes() -> None:
    all_codes = set(PROTOCOL_CODES)
    assert all_codes == ErrorCode.TRANSIENT | ErrorCode.HEALTHY | ErrorCode.SERVER_FAULT
    assert not ErrorCode.TRANSIENT & ErrorCode.HEALTHY
    assert not ErrorCode.TRANSIENT & ErrorCode.SERVER_FAULT
    assert not ErrorCode.HEALTHY & ErrorCode.SERVER_FAULT
    assert {c for c, (_, transient) in PROTOCOL_CODES.items() if transient} == ErrorCode.TRANSIENT
    assert {"DATABASE_ERROR", "INTERNAL_ERROR"} == ErrorCode.SERVER_FAULT


@pytest.mark.parametrize("code", sorted(PROTOCOL_CODES))
def test_each_wire_code_maps_to_the_protocol_exception(code: str) -> None:
    expected_type, _ = PROTOCOL_CODES[code]
    exc = exception_from_error(_error(code, "something went wrong"))
    assert type(exc) is expected_type
    assert exc.code == code  # type: ignore[attr-defined]


# ------------------------------------------------------------------ validation codes


@pytest.mark.parametrize("code", ["VALIDATION_ERROR", "INVALID_MESSAGE"])
def test_validation_codes_carry_the_field(code: str) -> None:
    exc = exception_from_error(_error(code, "Title must be 1-200 characters", field="title"))
    assert isinstance(exc, ValidationException)
    assert exc.code == code
    assert exc.errors == [FieldError("title", "Title must be 1-200 characters")]
    assert exc.fields == ["title"]
    assert "title" in str(exc)
    assert "Title must be 1-200 characters" in str(exc)


@pytest.mark.parametrize("code", ["VALIDATION_ERROR", "INVALID_MESSAGE"])
def test_validation_code_without_field_names_the_request(code: str) -> None:
    exc = exception_from_error(_error(code, "missing payload"))
    assert isinstance(exc, ValidationException)
    assert exc.fields == ["request"]
    assert exc.errors[0].message == "missing payload"


def test_validation_code_with_an_empty_but_present_field_still_names_something() -> None:
    exc = exception_from_error(_error("VALIDATION_ERROR", "bad", field=""))
    assert isinstance(exc, ValidationException)
    assert exc.fields == ["request"]


# ------------------------------------------------------------------ CONFLICT


@pytest.mark.parametrize(
    ("message", "current"),
    [
        ("Conflict: resource was modified (current version: 5)", 5),  # pm-server v0.1.4's text
        ("Version conflict: expected 3, current version: 5", 5),
        ("current version: 12", 12),
        ("Current Version: 7", 7),
        ("current version:42 (stale)", 42),
    ],
)
def test_conflict_with_another_current_version_is_a_version_conflict(message: str, current: int) -> None:
    exc = exception_from_error(_error("CONFLICT", message), entity_id=ITEM, expected_version=3)
    assert type(exc) is VersionConflictException
    assert isinstance(exc, ServerRejectedException)
    assert exc.code == ErrorCode.CONFLICT
    assert exc.current_version == current
    assert exc.entity_id == ITEM
    assert exc.expected_version == 3
    assert exc.message == message
    assert not exc.is_transient


@pytest.mark.parametrize(
    ("message", "current"),
    [
        # pm-server's sprint rules (a second active sprint, any update of a completed sprint)
        # answer CONFLICT with the version the request expected: nothing was stale.
        ("Conflict: resource was modified (current version: 3)", 3),
        ("Version conflict", None),
        ("", None),
        ("expected version: 3", None),
    ],
)
def test_conflict_at_the_expected_version_or_without_one_is_a_business_rule(
    message: str, current: int | None
) -> None:
    exc = exception_from_error(_error("CONFLICT", message), entity_id=ITEM, expected_version=3)
    assert type(exc) is BusinessRuleConflictException
    assert not isinstance(exc, VersionConflictException)
    assert isinstance(exc, ServerRejectedException)
    assert (exc.code, exc.entity_id, exc.current_version) == (ErrorCode.CONFLICT, ITEM, current)
    assert not exc.is_transient
    if message:
        assert exc.message == message
    else:  # nothing from the server: the text is built from what the request knew
        assert str(ITEM) in str(exc)


def test_update_not_applied_names_the_dropped_fields_and_carries_the_servers_copy() -> None:
    class Copy:
        id = ITEM
        version = 4

    copy = Copy()
    exc = UpdateNotAppliedException("UpdateWorkItem", copy, ("priority", "story_points"))
    assert exc.entity is copy
    assert exc.dropped_fields == ("priority", "story_points")
    assert "priority, story_points" in str(exc)
    assert str(ITEM) in str(exc)
    assert "version 4" in str(exc)
    assert not isinstance(exc, ServerRejectedException)


def test_conflict_without_request_context_still_maps() -> None:
    exc = exception_from_error(_error("CONFLICT", "current version: 2"))
    assert isinstance(exc, VersionConflictException)
    assert (exc.entity_id, exc.expected_version, exc.current_version) == (None, None, 2)


def test_version_conflict_built_locally_describes_itself() -> None:
    exc = VersionConflictException(entity_id=ITEM, expected_version=3, current_version=4)
    assert str(ITEM) in str(exc)
    assert "expected 3" in str(exc)
    assert "current 4" in str(exc)


# ------------------------------------------------------------------ other server codes


@pytest.mark.parametrize("code", _REJECTED)
def test_server_rejection_keeps_code_message_field_and_transience(code: str) -> None:
    exc = exception_from_error(_error(code, "Retry after 5 seconds", field="work_item_id"))
    assert type(exc) is ServerRejectedException
    assert exc.code == code
    assert exc.message == "Retry after 5 seconds"
    assert exc.server_message == "Retry after 5 seconds"
    assert exc.field == "work_item_id"
    assert exc.is_transient is PROTOCOL_CODES[code][1]
    assert code in str(exc)


def test_server_rejection_without_field_has_none() -> None:
    exc = exception_from_error(_error("NOT_FOUND", "Work item not found"))
    assert isinstance(exc, ServerRejectedException)
    assert exc.field is None
    assert "Work item not found" in str(exc)


@pytest.mark.parametrize("code", sorted(ErrorCode.SERVER_FAULT))
def test_server_fault_text_is_kept_for_logs_but_never_shown(code: str) -> None:
    exc = exception_from_error(_error(code, _SQL))
    assert isinstance(exc, ServerRejectedException)
    assert exc.message == _SQL
    for shown in (str(exc), repr(exc), *map(str, exc.args)):
        assert "SELECT" not in shown
        assert "work_items_pkey" not in shown
    assert code in str(exc)


def test_a_constraint_refusal_says_the_values_were_refused_without_leaking_sql() -> None:
    text = (
        "Database error: error returned from database: (code: 787) FOREIGN KEY constraint failed "
        "(INSERT INTO pm_work_items ...)"
    )
    exc = exception_from_error(_error("DATABASE_ERROR", text))
    assert isinstance(exc, ServerRejectedException)
    assert "refused the values" in str(exc)
    assert "INSERT" not in str(exc)
    assert exc.message == text


def test_unknown_code_is_a_non_transient_rejection() -> None:
    exc = exception_from_error(_error("RATE_LIMITED", "slow down"))
    assert type(exc) is ServerRejectedException
    assert exc.code == "RATE_LIMITED"
    assert not exc.is_transient


# ------------------------------------------------------------------ attributes of the others


def test_connection_exception_carries_close_code() -> None:
    exc = ConnectionException("kicked", close_code=1008)
    assert exc.close_code == 1008
    assert "1008" in str(exc)
    assert ConnectionException().close_code is None
    assert "close code" not in str(ConnectionException())


def test_request_timeout_carries_operation_timeout_and_message_id() -> None:
    exc = RequestTimeoutException("CreateWorkItem", timedelta(seconds=2.5), message_id="abc")
    assert exc.operation == "CreateWorkItem"
    assert exc.timeout == timedelta(seconds=2.5)
    assert exc.message_id == "abc"
    assert "CreateWorkItem" in str(exc)
    assert "2.5" in str(exc)


def test_circuit_open_carries_retry_after_and_state() -> None:
    exc = CircuitOpenException(timedelta(seconds=12.25))
    assert exc.retry_after == timedelta(seconds=12.25)
    assert exc.state == "Open"
    assert "12.250" in str(exc)
    assert CircuitOpenException(timedelta(0), state="HalfOpen").state == "HalfOpen"


def test_validation_exception_lists_every_error() -> None:
    errors = [FieldError("title", "too long"), FieldError("status", "unknown")]
    exc = ValidationException(errors)
    assert exc.errors == errors
    assert exc.fields == ["title", "status"]
    assert exc.code is None
    assert "title: too long" in str(exc)
    assert "status: unknown" in str(exc)


def test_validation_exception_accepts_a_single_error() -> None:
    exc = ValidationException(FieldError("name", "empty"), code="INVALID_MESSAGE")
    assert exc.errors == [FieldError("name", "empty")]
    assert exc.code == "INVALID_MESSAGE"


def test_validation_exception_copies_the_list_it_was_given() -> None:
    errors = [FieldError("title", "too long")]
    exc = ValidationException(errors)
    errors.append(FieldError("x", "y"))
    assert exc.fields == ["title"]


# ------------------------------------------------------------------ hierarchy


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (ConnectionException, ProjectManagementException),
        (RequestTimeoutException, ProjectManagementException),
        (ServerRejectedException, ProjectManagementException),
        (VersionConflictException, ServerRejectedException),
        (BusinessRuleConflictException, ServerRejectedException),
        (UpdateNotAppliedException, ProjectManagementException),
        (ValidationException, ProjectManagementException),
        (CircuitOpenException, ProjectManagementException),
        (ProjectManagementException, Exception),
    ],
)
def test_hierarchy(child: type[BaseException], parent: type[BaseException]) -> None:
    assert issubclass(child, parent)


@pytest.mark.parametrize(
    "kind",
    [
        ConnectionException,
        RequestTimeoutException,
        ServerRejectedException,
        ValidationException,
        CircuitOpenException,
    ],
)
def test_branches_are_separate(kind: type[BaseException]) -> None:
    """No branch is another's subclass (only VersionConflict sits under ServerRejected)."""
    others = {ConnectionException, RequestTimeoutException, ServerRejectedException, ValidationException}
    others |= {CircuitOpenException}
    for other in others - {kind}:
        assert not issubclass(kind, other)


def test_no_exception_is_a_value_error() -> None:
    """Callers catching ValueError for their own bugs must not swallow ours."""
    for kind in (ValidationException, ServerRejectedException, VersionConflictException):
        assert not issubclass(kind, ValueError)


def test_service_unavailable_carries_pm_servers_retry_hint_for_callers() -> None:
    busy = ServerRejectedException(
        ErrorCode.SERVICE_UNAVAILABLE, "Service temporarily unavailable. Retry after 30 seconds"
    )
    assert busy.retry_after == timedelta(seconds=30)


def test_only_service_unavailable_carries_a_retry_hint() -> None:
    assert ServerRejectedException(ErrorCode.TIMEOUT, "Retry after 3 seconds").retry_after is None
    assert ServerRejectedException(ErrorCode.SERVICE_UNAVAILABLE, "busy").retry_after is None
