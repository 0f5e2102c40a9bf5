"""The client survives pm-server's quirks as the reference server reproduces them (issue 12).

``test_upstream_quirks.py`` proves the client's side against a raw peer that answers as pm-server
does; here the same promises hold against ``PmTestServer`` itself, so a user's integration tests meet
them too: an update pm-server drops is never lost silently, a sprint business rule is not a version
conflict, and an id cleared with ``CLEAR`` is cleared on the server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    UpdateNotAppliedException,
    VersionConflictException,
)
from projectmanagement_core.models import (
    CLEAR,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    SprintStatus,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services.resilience import CircuitBreaker, CircuitBreakerOptions, RetryPolicy
from projectmanagement_services.resilience.circuit_breaker import CircuitState
from projectmanagement_services.resilience.options import RetryPolicyOptions
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket import WebSocketClient
from tests.services.websocket.fakes import options

LIMIT = 10.0  # every awaited outcome is bounded by this many seconds


@dataclass
class Stack:
    server: PmTestServer
    client: ResilientWebSocketClient
    breaker: CircuitBreaker
    items: WorkItemStore
    sprints: SprintStore
    project: UUID
    item: UUID


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    user = uuid4()
    async with PmTestServer() as server:
        inner = WebSocketClient(options(ServerUrl=server.url, UserId=str(user), RequestTimeout=LIMIT))
        breaker = CircuitBreaker(
            CircuitBreakerOptions(failure_threshold=1, open_duration=timedelta(minutes=1))
        )
        retry = RetryPolicy(RetryPolicyOptions(max_attempts=3, initial_delay=timedelta(milliseconds=10)))
        client = ResilientWebSocketClient(inner, breaker, retry)
        items, sprints = WorkItemStore(client), SprintStore(client)
        async with asyncio.timeout(LIMIT):
            await client.connect()
            project = await client.create_project(CreateProjectRequest(key="QRK", title="Quirks"))
            item = await client.create_work_item(
                CreateWorkItemRequest(project_id=project.id, item_type=WorkItemType.TASK, title="Item")
            )
            await items.load_project(project.id)
            await sprints.load_project(project.id)
        try:
            yield Stack(server, client, breaker, items, sprints, project.id, item.id)
        finally:
            items.close()
            sprints.close()
            await client.aclose()


async def test_an_update_pm_server_drops_raises_and_the_store_rolls_back_to_the_servers_copy(
    stack: Stack,
) -> None:
    before = stack.items.get(stack.item)
    reported: list[UpdateNotAppliedException] = []
    stack.items.on_update_not_applied.subscribe(reported.append)

    with pytest.raises(UpdateNotAppliedException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.items.update(
                UpdateWorkItemRequest(work_item_id=stack.item, priority="high", story_points=5)
            )

    assert raised.value.dropped_fields == ("priority", "story_points")
    assert reported == [raised.value]
    assert stack.items.get(stack.item) == before  # the optimistic change is gone, not silently kept
    [stored] = stack.server.work_items(stack.project)
    assert (stored.priority, stored.HasField("story_points"), stored.version) == ("medium", False, 1)
    assert stack.server.counters.requests_by_type["update_work_item_request"] == 1  # not retried
    assert stack.breaker.state is CircuitState.CLOSED


async def test_the_same_fields_ride_along_with_a_tracked_change(stack: Stack) -> None:
    async with asyncio.timeout(LIMIT):
        item = await stack.items.update(
            UpdateWorkItemRequest(work_item_id=stack.item, title=" Renamed ", priority="high", story_points=5)
        )
    assert (item.title, item.priority, item.story_points, item.version) == ("Renamed", "high", 5, 2)
    assert stack.items.get(stack.item) == item


async def test_clear_removes_the_assignee_on_the_server(stack: Stack) -> None:
    someone = uuid4()
    stack.server.add_user(someone)  # pm-server only assigns users its database knows
    async with asyncio.timeout(LIMIT):
        assigned = await stack.items.update(
            UpdateWorkItemRequest(work_item_id=stack.item, assignee_id=someone, title="Assigned")
        )
        assert assigned.assignee_id == someone
        cleared = await stack.items.update(
            UpdateWorkItemRequest(work_item_id=stack.item, assignee_id=CLEAR, title="Unassigned")
        )
    assert cleared.assignee_id is None
    [stored] = stack.server.work_items(stack.project)
    assert not stored.HasField("assignee_id")


async def test_a_second_active_sprint_is_a_business_rule_conflict_not_a_version_conflict(
    stack: Stack,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    async with asyncio.timeout(LIMIT):
        running = await stack.sprints.create(
            CreateSprintRequest(
                project_id=stack.project,
                name="Running",
                start_date=start,
                end_date=start + timedelta(days=14),
            )
        )
        await stack.sprints.update(UpdateSprintRequest(sprint_id=running.id, status=SprintStatus.ACTIVE))
        planned = await stack.sprints.create(
            CreateSprintRequest(
                project_id=stack.project,
                name="Next",
                start_date=start + timedelta(days=14),
                end_date=start + timedelta(days=28),
            )
        )
    sent_before = stack.server.counters.requests_by_type["update_sprint_request"]

    with pytest.raises(BusinessRuleConflictException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.sprints.update(UpdateSprintRequest(sprint_id=planned.id, status=SprintStatus.ACTIVE))

    assert not isinstance(raised.value, VersionConflictException)
    assert raised.value.current_version == 1
    assert stack.server.counters.requests_by_type["update_sprint_request"] == sent_before + 1  # sent once
    assert stack.breaker.state is CircuitState.CLOSED
    assert stack.sprints.get(planned.id).status is SprintStatus.PLANNED  # type: ignore[union-attr]  # rolled back
