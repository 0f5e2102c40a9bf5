"""Issue 14: a create whose outcome is unknown carries its idempotency key; re-sending with it is safe.

Against the reference server: ``swallow_answers(1)`` makes it apply a create and never answer. With
one attempt in all (no automatic retry), the create fails with its key; the caller's own later
re-send with that key is answered from the server's idempotency store, and the server holds one item.
Request timeouts run on manual time (advanced by the test), never on a loaded machine's speed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import (
    ProjectManagementException,
    RequestTimeoutException,
    ValidationException,
)
from projectmanagement_core.models import CreateSprintRequest, CreateWorkItemRequest, WorkItemType
from projectmanagement_services.resilience import RetryPolicyOptions
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.testing import PmTestServer

from .conftest import LIMIT, TINY, ManualTime, Stack, build_stack, new_project

T = TypeVar("T")
REQUEST_TIMEOUT = 5.0
ONE_ATTEMPT = RetryPolicyOptions(max_attempts=1, initial_delay=TINY, max_delay=TINY)


def single_attempt_stack(server: PmTestServer) -> tuple[Stack, ManualTime]:
    time = ManualTime()
    stack = build_stack(server, request_timeout=REQUEST_TIMEOUT, retry=ONE_ATTEMPT, client_time=time)
    return stack, time


async def fails_with_answer_lost(
    server: PmTestServer, time: ManualTime, make: Callable[[], Awaitable[T]]
) -> ProjectManagementException:
    """Run ``make()`` while the server swallows its answer; time it out; return what it raised."""
    server.faults.swallow_answers(1)
    running = asyncio.ensure_future(make())
    await time.wait_for_timer(REQUEST_TIMEOUT)
    await time.advance(REQUEST_TIMEOUT)
    with pytest.raises(ProjectManagementException) as caught:
        await running
    return caught.value


def task(project_id: UUID, title: str) -> CreateWorkItemRequest:
    return CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)


async def test_a_create_whose_answer_is_lost_fails_with_its_key_and_the_resend_is_not_a_duplicate(
    server: PmTestServer,
) -> None:
    stack, time = single_attempt_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        project = await new_project(stack.client)
        error = await fails_with_answer_lost(
            server, time, lambda: stack.client.create_work_item(task(project, "once"))
        )
        assert isinstance(error, RequestTimeoutException)  # its usual type: existing handlers still work
        assert error.outcome_unknown
        assert error.idempotency_key is not None
        [applied] = server.work_items(project)  # the server did apply it

        again = await stack.client.create_work_item(
            task(project, "once"), idempotency_key=error.idempotency_key
        )
    assert str(again.id) == applied.id
    assert [i.id for i in server.work_items(project)] == [applied.id]
    assert server.counters.replays_served == 1
    await stack.client.aclose()


async def test_the_stores_take_and_report_the_key_too(server: PmTestServer) -> None:
    stack, time = single_attempt_stack(server)
    items, sprints = WorkItemStore(stack.client), SprintStore(stack.client)
    try:
        async with asyncio.timeout(LIMIT):
            await stack.client.connect()
            project = await new_project(stack.client)
            await items.load_project(project)
            error = await fails_with_answer_lost(server, time, lambda: items.create(task(project, "store")))
            assert error.idempotency_key is not None
            assert items.get_by_project(project) == []  # the placeholder was rolled back
            item = await items.create(task(project, "store"), idempotency_key=error.idempotency_key)
            assert [i.id for i in server.work_items(project)] == [str(item.id)]
            assert [i.id for i in items.get_by_project(project)] == [item.id]

            start = item.created_at.replace(microsecond=0)
            sprint_request = CreateSprintRequest(
                project_id=project, name="S1", start_date=start, end_date=start.replace(year=start.year + 1)
            )
            sprint_error = await fails_with_answer_lost(server, time, lambda: sprints.create(sprint_request))
            assert sprint_error.idempotency_key is not None
            sprint = await sprints.create(sprint_request, idempotency_key=sprint_error.idempotency_key)
            assert [s.id for s in server.sprints(project)] == [str(sprint.id)]
    finally:
        items.close()
        sprints.close()
        await stack.client.aclose()


async def test_a_refusal_whose_outcome_is_known_carries_no_key(server: PmTestServer) -> None:
    stack, _ = single_attempt_stack(server)
    async with asyncio.timeout(LIMIT):
        await stack.client.connect()
        with pytest.raises(ProjectManagementException) as caught:
            await stack.client.create_work_item(task(UUID(int=7), "no such project"))
    assert not caught.value.outcome_unknown
    assert caught.value.idempotency_key is None
    await stack.client.aclose()


def test_two_different_ids_for_one_create_are_refused() -> None:
    from projectmanagement_services.resilience.idempotency import creation_key

    with pytest.raises(ValidationException, match="idempotency_key"):
        creation_key("a", "b")
    assert creation_key("k", "k") == "k"
    assert creation_key(None, "m") == "m"
