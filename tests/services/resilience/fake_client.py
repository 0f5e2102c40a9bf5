"""An in-memory IWebSocketClient test double for the resilience components.

Every operation is recorded (name, arguments, message_id) and answered from a per-operation script:
a queue of outcomes (a value to return, or an exception to raise), falling back to a default answer.
``drop()`` simulates an unexpected connection loss the way the real client reports it (state
Reconnecting); ``connect()`` can be scripted to fail or to wait on a gate.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from projectmanagement_core.models import (
    ConnectionQuality,
    ConnectionState,
    ConnectionStateChange,
    CreateSprintRequest,
    CreateWorkItemRequest,
    Sprint,
    SprintStatus,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)
from projectmanagement_services.events import Event

__all__ = ["Call", "FakeClient", "FakeHealth", "make_sprint", "make_work_item"]

_NOW = datetime(2025, 1, 1, tzinfo=UTC)
_USER = UUID("00000000-0000-4000-8000-000000000001")
_numbers = itertools.count(1)


def make_work_item(project_id: UUID, *, title: str = "item", version: int = 1, **fields: Any) -> WorkItem:
    values: dict[str, Any] = {
        "id": uuid4(),
        "item_type": WorkItemType.TASK,
        "project_id": project_id,
        "title": title,
        "status": "backlog",
        "priority": "medium",
        "version": version,
        "item_number": next(_numbers),
        "created_at": _NOW,
        "updated_at": _NOW,
        "created_by": _USER,
        "updated_by": _USER,
    }
    values.update(fields)
    return WorkItem(**values)


def make_sprint(project_id: UUID, *, name: str = "sprint", version: int = 1, **fields: Any) -> Sprint:
    values: dict[str, Any] = {
        "id": uuid4(),
        "project_id": project_id,
        "name": name,
        "start_date": _NOW,
        "end_date": _NOW + timedelta(days=14),
        "status": SprintStatus.PLANNED,
        "version": version,
        "created_at": _NOW,
        "updated_at": _NOW,
        "created_by": _USER,
        "updated_by": _USER,
    }
    values.update(fields)
    return Sprint(**values)


@dataclass
class FakeHealth:
    latency: timedelta | None = None
    last_latency: timedelta | None = None
    last_message_sent: float | None = None
    last_message_received: float | None = None
    pending_requests: int = 0
    reconnect_attempts: int = 0
    is_connected: bool = False
    quality: ConnectionQuality = ConnectionQuality.UNKNOWN


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]
    message_id: str | None


@dataclass
class FakeClient:
    """Scripted IWebSocketClient. ``script(name, *outcomes)`` queues answers for operation ``name``."""

    state: ConnectionState = ConnectionState.DISCONNECTED
    health: FakeHealth = field(default_factory=FakeHealth)
    calls: list[Call] = field(default_factory=list)
    #: work items / sprints the "server" holds per project: default answers of the get operations.
    work_items: dict[UUID, list[WorkItem]] = field(default_factory=lambda: defaultdict(list))
    sprints: dict[UUID, list[Sprint]] = field(default_factory=lambda: defaultdict(list))
    #: when set, connect() waits on it (set by the test) before applying its scripted outcome.
    connect_gate: asyncio.Event | None = None
    #: called after each successful connect (e.g. to drop again at once: a flapping server).
    after_connect: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self._scripts: dict[str, deque[Any]] = defaultdict(deque)
        self.on_state_changed: Event[ConnectionStateChange] = Event("on_state_changed")
        for name in (
            "on_work_item_created",
            "on_work_item_updated",
            "on_work_item_deleted",
            "on_sprint_created",
            "on_sprint_updated",
            "on_sprint_deleted",
            "on_project_created",
            "on_project_updated",
            "on_project_deleted",
            "on_activity_logged",
            "on_warning",
        ):
            setattr(self, name, Event(name))

    # -- test controls -----------------------------------------------------------------------
    def script(self, name: str, *outcomes: Any) -> None:
        """Queue outcomes for the next calls of ``name``: exceptions are raised, values returned."""
        self._scripts[name].extend(outcomes)

    def calls_of(self, name: str) -> list[Call]:
        return [c for c in self.calls if c.name == name]

    def set_state(self, state: ConnectionState, error: BaseException | None = None) -> None:
        previous, self.state = self.state, state
        self.health.is_connected = state is ConnectionState.CONNECTED
        self.on_state_changed.emit(ConnectionStateChange(previous, state, error))

    def drop(self, error: BaseException | None = None) -> None:
        """An unexpected loss, reported as the real client does: state Reconnecting."""
        self.set_state(ConnectionState.RECONNECTING, error)

    def _answer(self, name: str, args: tuple[Any, ...], message_id: str | None, default: Any) -> Any:
        self.calls.append(Call(name, args, message_id))
        script = self._scripts.get(name)
        outcome = script.popleft() if script else default
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome) and not isinstance(outcome, type):
            return outcome(*args)
        return outcome

    # -- lifecycle -----------------------------------------------------------------------------
    async def connect(self) -> None:
        self.set_state(ConnectionState.CONNECTING)
        if self.connect_gate is not None:
            await self.connect_gate.wait()
        try:
            self._answer("connect", (), None, None)
        except BaseException as exc:
            self.set_state(ConnectionState.RECONNECTING, exc)
            raise
        self.set_state(ConnectionState.CONNECTED)
        if self.after_connect is not None:
            self.after_connect()

    async def disconnect(self) -> None:
        self.calls.append(Call("disconnect", (), None))
        self.set_state(ConnectionState.DISCONNECTED)

    async def aclose(self) -> None:
        self.calls.append(Call("aclose", (), None))
        self.set_state(ConnectionState.CLOSED)

    # -- operations ----------------------------------------------------------------------------
    async def subscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        self._answer("subscribe", (tuple(project_ids), tuple(sprint_ids)), message_id, None)

    async def unsubscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        self._answer("unsubscribe", (tuple(project_ids), tuple(sprint_ids)), message_id, None)

    async def create_work_item(
        self, request: CreateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem:
        default = make_work_item(request.project_id, title=request.title)
        return self._answer("create_work_item", (request,), message_id, default)  # type: ignore[no-any-return]

    async def update_work_item(
        self, request: UpdateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem:
        return self._answer("update_work_item", (request,), message_id, None)  # type: ignore[no-any-return]

    async def delete_work_item(self, work_item_id: UUID, *, message_id: str | None = None) -> None:
        self._answer("delete_work_item", (work_item_id,), message_id, None)

    async def get_work_items(
        self, project_id: UUID, *, since: datetime | None = None, message_id: str | None = None
    ) -> list[WorkItem]:
        return list(self._answer("get_work_items", (project_id,), message_id, self.work_items[project_id]))

    async def create_sprint(self, request: CreateSprintRequest, *, message_id: str | None = None) -> Sprint:
        default = make_sprint(request.project_id, name=request.name)
        return self._answer("create_sprint", (request,), message_id, default)  # type: ignore[no-any-return]

    async def update_sprint(self, request: UpdateSprintRequest, *, message_id: str | None = None) -> Sprint:
        return self._answer("update_sprint", (request,), message_id, None)  # type: ignore[no-any-return]

    async def delete_sprint(self, sprint_id: UUID, *, message_id: str | None = None) -> None:
        self._answer("delete_sprint", (sprint_id,), message_id, None)

    async def get_sprints(self, project_id: UUID, *, message_id: str | None = None) -> list[Sprint]:
        return list(self._answer("get_sprints", (project_id,), message_id, self.sprints[project_id]))

    async def create_project(self, request: Any, *, message_id: str | None = None) -> Any:
        return self._answer("create_project", (request,), message_id, None)

    async def update_project(self, request: Any, *, message_id: str | None = None) -> Any:
        return self._answer("update_project", (request,), message_id, None)

    async def delete_project(
        self, project_id: UUID, expected_version: int, *, message_id: str | None = None
    ) -> None:
        self._answer("delete_project", (project_id, expected_version), message_id, None)

    async def list_projects(self, *, message_id: str | None = None) -> Any:
        return self._answer("list_projects", (), message_id, [])

    async def ping(self) -> timedelta:
        return self._answer("ping", (), None, timedelta(milliseconds=1))  # type: ignore[no-any-return]
