"""The client survives pm-server v0.1.4's quirks, over a real socket to a server that answers as it does.

The peer is ``tests/support/upstream_like_server.py``: a raw ``websockets`` server on 127.0.0.1 whose
handlers mirror upstream's (an update changing only priority / story points / sprint is answered as
a no-op and not stored; sprint rules answer CONFLICT at the current version).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    UpdateNotAppliedException,
    VersionConflictException,
)
from projectmanagement_core.models import CLEAR, SprintStatus, UpdateSprintRequest, UpdateWorkItemRequest
from projectmanagement_services.resilience import CircuitBreaker, CircuitBreakerOptions, RetryPolicy
from projectmanagement_services.resilience.circuit_breaker import CircuitState
from projectmanagement_services.resilience.options import RetryPolicyOptions
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.websocket import WebSocketClient
from tests.services.websocket.fakes import options
from tests.support.upstream_like_server import USER, UpstreamLikeServer, upstream_like_server

LIMIT = 10.0  # every awaited outcome is bounded by this many seconds


@dataclass
class Stack:
    server: UpstreamLikeServer
    client: ResilientWebSocketClient
    breaker: CircuitBreaker
    items: WorkItemStore
    sprints: SprintStore

    @property
    def project(self) -> UUID:
        return UUID(self.server.project.id)

    @property
    def item_id(self) -> UUID:
        return UUID(self.server.item.id)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    async with upstream_like_server() as server:
        inner = WebSocketClient(options(ServerUrl=server.url, UserId=USER, RequestTimeout=LIMIT))
        breaker = CircuitBreaker(
            CircuitBreakerOptions(failure_threshold=1, open_duration=timedelta(minutes=1))
        )
        retry = RetryPolicy(RetryPolicyOptions(max_attempts=3, initial_delay=timedelta(milliseconds=10)))
        client = ResilientWebSocketClient(inner, breaker, retry)
        items, sprints = WorkItemStore(client), SprintStore(client)
        async with asyncio.timeout(LIMIT):
            await client.connect()
            await items.load_project(UUID(server.project.id))
            await sprints.load_project(UUID(server.project.id))
        try:
            yield Stack(server, client, breaker, items, sprints)
        finally:
            items.close()
            sprints.close()
            await client.aclose()


async def test_a_priority_and_points_update_pm_server_drops_raises_and_the_store_shows_its_copy(
    stack: Stack,
) -> None:
    before = stack.items.get(stack.item_id)
    reported: list[UpdateNotAppliedException] = []
    stack.items.on_update_not_applied.subscribe(reported.append)

    with pytest.raises(UpdateNotAppliedException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.items.update(
                UpdateWorkItemRequest(work_item_id=stack.item_id, priority="high", story_points=5)
            )

    assert raised.value.dropped_fields == ("priority", "story_points")
    assert raised.value.entity == before  # the server answered the unchanged item
    assert reported == [raised.value]
    assert stack.items.get(stack.item_id) == before  # the optimistic change is gone, not silently kept
    assert stack.server.item.priority == "medium"  # and indeed the server never stored it
    assert stack.server.requests["update_work_item_request"] == 1  # not retried
    assert stack.breaker.state is CircuitState.CLOSED


async def test_a_sprint_only_update_is_dropped_too(stack: Stack) -> None:
    with pytest.raises(UpdateNotAppliedException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.client.update_work_item(
                UpdateWorkItemRequest(
                    work_item_id=stack.item_id,
                    expected_version=1,
                    sprint_id=UUID(stack.server.planned_sprint.id),
                )
            )
    assert raised.value.dropped_fields == ("sprint_id",)


async def test_the_same_fields_with_a_tracked_change_are_stored_and_returned(stack: Stack) -> None:
    async with asyncio.timeout(LIMIT):
        item = await stack.items.update(
            UpdateWorkItemRequest(
                work_item_id=stack.item_id, title=" Renamed ", priority="high", story_points=5
            )
        )
    assert (item.title, item.priority, item.story_points, item.version) == ("Renamed", "high", 5, 2)
    assert stack.items.get(stack.item_id) == item


async def test_clearing_the_assignee_sends_the_empty_id_pm_server_reads_as_none(stack: Stack) -> None:
    stack.server.item.assignee_id = USER
    async with asyncio.timeout(LIMIT):
        await stack.items.load_project(stack.project)
        item = await stack.items.update(UpdateWorkItemRequest(work_item_id=stack.item_id, assignee_id=CLEAR))
    assert item.assignee_id is None
    assert not stack.server.item.HasField("assignee_id")


async def test_a_second_active_sprint_is_a_business_rule_conflict_sent_once(stack: Stack) -> None:
    planned = UUID(stack.server.planned_sprint.id)
    with pytest.raises(BusinessRuleConflictException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.sprints.update(UpdateSprintRequest(sprint_id=planned, status=SprintStatus.ACTIVE))

    assert not isinstance(raised.value, VersionConflictException)
    assert raised.value.current_version == 1
    assert stack.server.requests["update_sprint_request"] == 1
    assert stack.breaker.state is CircuitState.CLOSED
    assert stack.sprints.get(planned).status is SprintStatus.PLANNED  # type: ignore[union-attr]  # rolled back


async def test_a_stale_version_is_still_a_version_conflict(stack: Stack) -> None:
    stack.server.item.version = 4  # someone else moved it on
    with pytest.raises(VersionConflictException) as raised:
        async with asyncio.timeout(LIMIT):
            await stack.client.update_work_item(
                UpdateWorkItemRequest(work_item_id=stack.item_id, expected_version=1, title="mine")
            )
    assert (raised.value.expected_version, raised.value.current_version) == (1, 4)
