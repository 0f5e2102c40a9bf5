"""Idempotency helpers: which failures leave an outcome open, and when an update is already applied."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import uuid4

import pytest

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    RequestTimeoutException,
    ServerRejectedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.models import UpdateProjectRequest, UpdateWorkItemRequest
from projectmanagement_services.resilience.idempotency import (
    answer_may_be_lost,
    holds_requested_change,
    is_not_found,
    new_message_id,
    requested_changes,
)

from .fake_client import make_work_item

PROJECT = uuid4()


def test_message_ids_are_fresh_lowercase_hyphenated_uuid4s() -> None:
    ids = {new_message_id() for _ in range(100)}
    assert len(ids) == 100
    pattern = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(pattern.match(i) for i in ids)


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (RequestTimeoutException("UpdateWorkItem", timedelta(seconds=1)), True),
        (ConnectionException("lost"), True),
        (OSError("reset"), True),
        (ServerRejectedException("TIMEOUT", "handler timeout"), True),
        (ServerRejectedException("SERVICE_UNAVAILABLE", "Retry after 1 seconds"), False),
        (ServerRejectedException("NOT_FOUND", "gone"), False),
        (VersionConflictException(uuid4(), 1, 2), False),
        (ValidationException([]), False),
        (CircuitOpenException(timedelta(seconds=1)), False),
        (KeyError("bug"), False),
    ],
)
def test_answer_may_be_lost_only_when_the_server_may_have_processed_the_request(
    error: BaseException, lost: bool
) -> None:
    assert answer_may_be_lost(error) is lost


def test_is_not_found_is_the_not_found_code_only() -> None:
    assert is_not_found(ServerRejectedException("NOT_FOUND", "gone"))
    assert not is_not_found(ServerRejectedException("UNAUTHORIZED", "no"))
    assert not is_not_found(ConnectionException())


def test_requested_changes_use_the_requests_own_definition_or_its_set_fields() -> None:
    item_id = uuid4()
    update = UpdateWorkItemRequest(work_item_id=item_id, expected_version=3, title="t", update_parent=True)
    assert requested_changes(update) == {"title": "t", "parent_id": None}
    project = UpdateProjectRequest(project_id=uuid4(), expected_version=1, title="Renamed")
    assert requested_changes(project) == {"title": "Renamed"}


def test_an_entity_holds_the_change_only_past_the_expected_version_with_every_field_set() -> None:
    item = make_work_item(PROJECT, title="new", status="done", version=2)
    request = UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="new", status="done")

    assert holds_requested_change(item, request, 1)
    assert not holds_requested_change(item, request, 2)  # not past the version we expected
    other = UpdateWorkItemRequest(work_item_id=item.id, expected_version=1, title="new", status="todo")
    assert not holds_requested_change(item, other, 1)  # one field differs
