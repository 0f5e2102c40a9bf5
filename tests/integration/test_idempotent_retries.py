"""Answers lost on the way back: retries reuse the message_id and recognise what already happened.

``server.faults.swallow_answers(1)`` makes the server process a request but never answer it. The
client's request timeouts run on manual time: the test times the lost attempt out by advancing it,
so no other request can time out because a loaded machine was slow (a real 0.3 s RequestTimeout
did exactly that on a busy CI box: an extra attempt, and the request counts were off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from opentelemetry.trace import StatusCode

from projectmanagement_core.exceptions import VersionConflictException
from projectmanagement_core.models import (
    CreateSprintRequest,
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.testing import PmTestServer

from .conftest import LIMIT, ManualTime, Stack, build_stack, new_project, plain_client

T = TypeVar("T")

REQUEST_TIMEOUT = 5.0  # seconds of the client's manual time: an attempt times out only when we advance it


def lossy_stack(server: PmTestServer) -> tuple[Stack, ManualTime]:
    time = ManualTime()
    return build_stack(server, request_timeout=REQUEST_TIMEOUT, client_time=time), time


async def with_first_answer_lost(server: PmTestServer, time: ManualTime, operation: Awaitable[T]) -> T:
    """Run ``operation`` while the server swallows its first attempt's answer; time that attempt out."""
    server.faults.swallow_answers(1)
    running = asyncio.ensure_future(operation)
    await time.wait_for_timer(REQUEST_TIMEOUT)  # the first attempt is in flight, its timeout armed
    await time.advance(REQUEST_TIMEOUT)  # ... and now expired: the retry policy sends it again
    return await running


def task(project_id: object, title: str) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)  # type: ignore[arg-type]


async def test_create_whose_answer_is_lost_is_retried_and_the_server_holds_exactly_one_item(
    server: PmTestServer,
) -> None:
    stack, time = lossy_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        applied_before = server.counters.creates_applied

        created = await with_first_answer_lost(
            server, time, stack.client.create_work_item(task(project, "exactly once"))
        )

    items = server.work_items(project)
    assert [i.id for i in items] == [str(created.id)]
    assert server.counters.replays_served == 1
    assert server.counters.creates_applied == applied_before + 1
    [message_id] = [m for m, n in server.counters.requests_by_message_id.items() if n == 2]
    assert server.counters.requests_by_type["create_work_item_request"] == 2
    assert message_id  # both attempts carried the same id

    [span] = stack.otel.spans("pm CreateWorkItem")
    attributes = dict(span.attributes or {})
    assert attributes["pm.attempts"] == 2
    assert attributes["rpc.method"] == "CreateWorkItem"
    assert attributes["server.port"] == server.port
    [retry] = span.events
    assert retry.name == "pm.retry"
    assert dict(retry.attributes or {})["error.type"] == "RequestTimeoutException"
    assert span.status.status_code is StatusCode.UNSET  # the timeout was retried away
    await stack.client.aclose()


async def test_sprint_create_whose_answer_is_lost_is_not_duplicated(server: PmTestServer) -> None:
    stack, time = lossy_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)  # within the sprint range
        sprint = await with_first_answer_lost(
            server,
            time,
            stack.client.create_sprint(
                CreateSprintRequest(
                    project_id=project, name="Sprint 1", start_date=start, end_date=start + timedelta(days=14)
                )
            ),
        )

    assert [s.id for s in server.sprints(project)] == [str(sprint.id)]
    assert server.counters.replays_served == 1
    await stack.client.aclose()


async def test_update_whose_answer_is_lost_returns_the_updated_item_instead_of_a_conflict(
    server: PmTestServer,
) -> None:
    stack, time = lossy_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        await stack.client.subscribe([project])
        item = await stack.client.create_work_item(task(project, "before"))

        updated = await with_first_answer_lost(
            server,
            time,
            stack.client.update_work_item(
                UpdateWorkItemRequest(
                    work_item_id=item.id, expected_version=item.version, title="after", status="done"
                )
            ),
        )

    assert updated.id == item.id
    assert (updated.title, updated.status, updated.version) == ("after", "done", item.version + 1)
    [on_server] = server.work_items(project)
    assert (on_server.title, on_server.version) == ("after", item.version + 1)  # applied once
    assert server.counters.requests_by_type["update_work_item_request"] == 2
    [span] = stack.otel.spans("pm UpdateWorkItem")
    assert dict(span.attributes or {})["pm.attempts"] == 2
    assert span.status.status_code is StatusCode.UNSET
    await stack.client.aclose()


async def test_update_whose_answer_is_lost_but_someone_else_changed_the_item_raises_the_conflict(
    server: PmTestServer,
) -> None:
    stack, time = lossy_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        item = await stack.client.create_work_item(task(project, "before"))
        # Another writer moves the item on first; then our stale update's answer (CONFLICT) is lost,
        # and the retry's CONFLICT must not be mistaken for our own change.
        other = plain_client(server, stack.inner.options.user_id)  # type: ignore[arg-type]
        await other.connect()
        await other.update_work_item(
            UpdateWorkItemRequest(work_item_id=item.id, expected_version=item.version, title="theirs")
        )
        await other.aclose()

        with pytest.raises(VersionConflictException):  # our stale update's CONFLICT answer is lost
            await with_first_answer_lost(
                server,
                time,
                stack.client.update_work_item(
                    UpdateWorkItemRequest(work_item_id=item.id, expected_version=item.version, title="mine")
                ),
            )

    [on_server] = server.work_items(project)
    assert on_server.title == "theirs"
    assert server.counters.requests_by_type["update_work_item_request"] == 3  # theirs + our two attempts
    await stack.client.aclose()


async def test_delete_whose_answer_is_lost_is_done_not_an_error(server: PmTestServer) -> None:
    stack, time = lossy_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        item = await stack.client.create_work_item(task(project, "short-lived"))

        await with_first_answer_lost(server, time, stack.client.delete_work_item(item.id))

    assert server.work_items(project) == []
    [deleted] = server.work_items(project, include_deleted=True)
    assert deleted.HasField("deleted_at")
    assert server.counters.requests_by_type["delete_work_item_request"] == 2
    await stack.client.aclose()
