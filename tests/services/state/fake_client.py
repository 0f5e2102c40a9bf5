"""An in-memory IWebSocketClient double for the stores' ordering, rollback and idempotency tests.

Every request becomes a ``Call`` that the test answers or fails when it chooses, so a test can
interleave broadcasts with a write in flight. Broadcasts are raised with ``broadcast_*``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from projectmanagement_core.models import (
    ConnectionState,
    ConnectionStateChange,
    Sprint,
    SprintCreated,
    SprintDeleted,
    SprintStatus,
    SprintUpdated,
    WorkItem,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemType,
    WorkItemUpdated,
)
from projectmanagement_services.events import Event

__all__ = ["Call", "FakeClient", "make_item", "make_sprint"]

USER = UUID("00000000-0000-4000-8000-000000000001")
#: Sprint dates must lie within a year back .. five years ahead of now (pm-server), so relative.
T0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=7)


def make_item(**overrides: Any) -> WorkItem:
    values: dict[str, Any] = {
        "id": uuid4(),
        "item_type": WorkItemType.TASK,
        "project_id": uuid4(),
        "title": "task",
        "status": "backlog",
        "priority": "medium",
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
        "created_by": USER,
        "updated_by": USER,
    }
    values.update(overrides)
    return WorkItem(**values)


def make_sprint(**overrides: Any) -> Sprint:
    values: dict[str, Any] = {
        "id": uuid4(),
        "project_id": uuid4(),
        "name": "sprint",
        "start_date": T0,
        "end_date": T0 + timedelta(days=14),
        "status": SprintStatus.PLANNED,
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
        "created_by": USER,
        "updated_by": USER,
    }
    values.update(overrides)
    return Sprint(**values)


@dataclass
class Call:
    """One request the store sent; the test ends it with ``answer`` or ``fail``."""

    operation: str
    argument: Any
    future: asyncio.Future[Any] = field(repr=False)

    def answer(self, value: Any = None) -> None:
        self.future.set_result(value)

    def fail(self, exc: BaseException) -> None:
        self.future.set_exception(exc)


class FakeClient:
    """Only what the stores use is meaningful; the rest of IWebSocketClient is absent on purpose."""

    def __init__(self) -> None:
        self.state = ConnectionState.CONNECTED
        self.on_state_changed: Event[ConnectionStateChange] = Event("on_state_changed")
        self.on_work_item_created: Event[WorkItemCreated] = Event("on_work_item_created")
        self.on_work_item_updated: Event[WorkItemUpdated] = Event("on_work_item_updated")
        self.on_work_item_deleted: Event[WorkItemDeleted] = Event("on_work_item_deleted")
        self.on_sprint_created: Event[SprintCreated] = Event("on_sprint_created")
        self.on_sprint_updated: Event[SprintUpdated] = Event("on_sprint_updated")
        self.on_sprint_deleted: Event[SprintDeleted] = Event("on_sprint_deleted")
        self.calls: asyncio.Queue[Call] = asyncio.Queue()
        self.sent: list[Call] = []

    # -- test controls -----------------------------------------------------------------------
    async def next_call(self) -> Call:
        async with asyncio.timeout(2):
            return await self.calls.get()

    def set_state(self, state: ConnectionState) -> None:
        previous, self.state = self.state, state
        self.on_state_changed.emit(ConnectionStateChange(previous, state))

    def broadcast_item(self, item: WorkItem, *, created: bool = False) -> None:
        if created:
            self.on_work_item_created.emit(WorkItemCreated(work_item=item, user_id=USER))
        else:
            self.on_work_item_updated.emit(WorkItemUpdated(work_item=item, user_id=USER))

    def broadcast_item_deleted(self, item_id: UUID) -> None:
        self.on_work_item_deleted.emit(WorkItemDeleted(work_item_id=item_id, user_id=USER))

    def broadcast_sprint(self, sprint: Sprint, *, created: bool = False) -> None:
        if created:
            self.on_sprint_created.emit(SprintCreated(sprint=sprint, user_id=USER))
        else:
            self.on_sprint_updated.emit(SprintUpdated(sprint=sprint, user_id=USER))

    def broadcast_sprint_deleted(self, sprint_id: UUID) -> None:
        self.on_sprint_deleted.emit(SprintDeleted(sprint_id=sprint_id, user_id=USER))

    async def _request(self, operation: str, argument: Any) -> Any:
        call = Call(operation, argument, asyncio.get_running_loop().create_future())
        self.sent.append(call)
        self.calls.put_nowait(call)
        return await call.future

    # -- the IWebSocketClient methods the stores call ----------------------------------------
    async def create_work_item(self, request: Any, *, message_id: str | None = None) -> WorkItem:
        return await self._request("create_work_item", request)

    async def update_work_item(self, request: Any, *, message_id: str | None = None) -> WorkItem:
        return await self._request("update_work_item", request)

    async def delete_work_item(self, work_item_id: UUID, *, message_id: str | None = None) -> None:
        await self._request("delete_work_item", work_item_id)

    async def get_work_items(
        self, project_id: UUID, *, since: datetime | None = None, message_id: str | None = None
    ) -> list[WorkItem]:
        return await self._request("get_work_items", project_id)

    async def create_sprint(self, request: Any, *, message_id: str | None = None) -> Sprint:
        return await self._request("create_sprint", request)

    async def update_sprint(self, request: Any, *, message_id: str | None = None) -> Sprint:
        return await self._request("update_sprint", request)

    async def delete_sprint(self, sprint_id: UUID, *, message_id: str | None = None) -> None:
        await self._request("delete_sprint", sprint_id)

    async def get_sprints(self, project_id: UUID, *, message_id: str | None = None) -> list[Sprint]:
        return await self._request("get_sprints", project_id)
