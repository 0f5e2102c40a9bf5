"""IWebSocketClient: what every pm-ws client offers (the plain one and the resilient one alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from projectmanagement_core.interfaces.connection_health import IConnectionHealth
from projectmanagement_core.interfaces.event import IEvent
from projectmanagement_core.models import (
    ActivityLogEntry,
    ConnectionState,
    ConnectionStateChange,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    Project,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    Sprint,
    SprintCreated,
    SprintDeleted,
    SprintUpdated,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemUpdated,
)

__all__ = ["IWebSocketClient"]


class IWebSocketClient(Protocol):
    """A pm-ws client: connection lifecycle, subscriptions, CRUD, and typed broadcast events.

    Every request accepts ``message_id``: a caller that retries one logical operation passes the
    same id on every attempt, so the server de-duplicates a create whose answer was lost.
    Requests are validated before sending (``ValidationException``, nothing sent).
    """

    # -- state and events -------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState: ...

    @property
    def health(self) -> IConnectionHealth: ...

    @property
    def on_state_changed(self) -> IEvent[ConnectionStateChange]: ...

    @property
    def on_work_item_created(self) -> IEvent[WorkItemCreated]: ...

    @property
    def on_work_item_updated(self) -> IEvent[WorkItemUpdated]: ...

    @property
    def on_work_item_deleted(self) -> IEvent[WorkItemDeleted]: ...

    @property
    def on_sprint_created(self) -> IEvent[SprintCreated]: ...

    @property
    def on_sprint_updated(self) -> IEvent[SprintUpdated]: ...

    @property
    def on_sprint_deleted(self) -> IEvent[SprintDeleted]: ...

    @property
    def on_project_created(self) -> IEvent[ProjectCreated]: ...

    @property
    def on_project_updated(self) -> IEvent[ProjectUpdated]: ...

    @property
    def on_project_deleted(self) -> IEvent[ProjectDeleted]: ...

    @property
    def on_activity_logged(self) -> IEvent[ActivityLogEntry]: ...

    @property
    def on_warning(self) -> IEvent[str]:
        """Text frames from the server (rate-limit warnings)."""
        ...

    # -- lifecycle ----------------------------------------------------------------------------
    async def connect(self) -> None: ...

    async def disconnect(self) -> None:
        """Close locally: state Disconnected, no reconnection."""
        ...

    async def aclose(self) -> None:
        """Close for good: state Closed, no reconnection, the client cannot be reused."""
        ...

    # -- subscriptions -----------------------------------------------------------------------
    async def subscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None: ...

    async def unsubscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None: ...

    # -- work items --------------------------------------------------------------------------
    async def create_work_item(
        self, request: CreateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem: ...

    async def update_work_item(
        self, request: UpdateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem: ...

    async def delete_work_item(self, work_item_id: UUID, *, message_id: str | None = None) -> None: ...

    async def get_work_items(
        self, project_id: UUID, *, since: datetime | None = None, message_id: str | None = None
    ) -> list[WorkItem]: ...

    # -- sprints ------------------------------------------------------------------------------
    async def create_sprint(
        self, request: CreateSprintRequest, *, message_id: str | None = None
    ) -> Sprint: ...

    async def update_sprint(
        self, request: UpdateSprintRequest, *, message_id: str | None = None
    ) -> Sprint: ...

    async def delete_sprint(self, sprint_id: UUID, *, message_id: str | None = None) -> None: ...

    async def get_sprints(self, project_id: UUID, *, message_id: str | None = None) -> list[Sprint]: ...

    # -- projects -----------------------------------------------------------------------------
    async def create_project(
        self, request: CreateProjectRequest, *, message_id: str | None = None
    ) -> Project: ...

    async def update_project(
        self, request: UpdateProjectRequest, *, message_id: str | None = None
    ) -> Project: ...

    async def delete_project(
        self, project_id: UUID, expected_version: int, *, message_id: str | None = None
    ) -> None:
        """Soft-delete a project at ``expected_version`` (pm-server checks it: CONFLICT if stale)."""
        ...

    async def list_projects(self, *, message_id: str | None = None) -> list[Project]:
        """Every live project on the server (pm-server does not filter by membership)."""
        ...

    # -- heartbeat ----------------------------------------------------------------------------
    async def ping(self) -> timedelta:
        """Send an app-level Ping and return the round-trip time."""
        ...
