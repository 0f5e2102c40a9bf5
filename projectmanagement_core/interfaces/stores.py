"""IWorkItemStore and ISprintStore: client-side state that a UI or an embedding app reads."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from projectmanagement_core.exceptions import UpdateNotAppliedException
from projectmanagement_core.interfaces.event import IEvent
from projectmanagement_core.models import (
    CreateSprintRequest,
    CreateWorkItemRequest,
    EntityChange,
    Sprint,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
)

__all__ = ["ISprintStore", "IWorkItemStore"]


class IWorkItemStore(Protocol):
    """Work items of the loaded projects; writes are optimistic and roll back exactly on failure."""

    @property
    def on_changed(self) -> IEvent[EntityChange[WorkItem]]: ...

    @property
    def on_update_not_applied(self) -> IEvent[UpdateNotAppliedException]:
        """An update the server answered without storing; the store shows the server's copy again."""
        ...

    def get(self, work_item_id: UUID) -> WorkItem | None:
        """The item, or None when unknown or deleted."""
        ...

    def get_by_project(self, project_id: UUID) -> list[WorkItem]:
        """Non-deleted items of a project, ordered by position."""
        ...

    def get_by_sprint(self, sprint_id: UUID) -> list[WorkItem]: ...

    def get_children(self, parent_id: UUID) -> list[WorkItem]: ...

    def is_pending(self, work_item_id: UUID) -> bool:
        """True while a write to this item is in flight."""
        ...

    async def load_project(self, project_id: UUID) -> list[WorkItem]:
        """Fetch a project's full list from the server and make it the store's truth."""
        ...

    async def create(self, request: CreateWorkItemRequest, *, idempotency_key: str | None = None) -> WorkItem:
        """``idempotency_key``: re-sending a create whose outcome is unknown with it never duplicates."""
        ...

    async def update(self, request: UpdateWorkItemRequest) -> WorkItem:
        """``expected_version`` None means "the store's current copy"; a stale one given raises."""
        ...

    async def delete(self, work_item_id: UUID) -> None: ...


class ISprintStore(Protocol):
    """Sprints of the loaded projects; lifecycle changes go to the server like any other write."""

    @property
    def on_changed(self) -> IEvent[EntityChange[Sprint]]: ...

    @property
    def on_update_not_applied(self) -> IEvent[UpdateNotAppliedException]:
        """An update the server answered without storing; the store shows the server's copy again."""
        ...

    def get(self, sprint_id: UUID) -> Sprint | None: ...

    def get_by_project(self, project_id: UUID) -> list[Sprint]:
        """Non-deleted sprints of a project, ordered by start date."""
        ...

    def get_active(self, project_id: UUID) -> Sprint | None:
        """The project's Active sprint, if any."""
        ...

    def is_pending(self, sprint_id: UUID) -> bool: ...

    async def load_project(self, project_id: UUID) -> list[Sprint]: ...

    async def create(self, request: CreateSprintRequest, *, idempotency_key: str | None = None) -> Sprint: ...

    async def update(self, request: UpdateSprintRequest) -> Sprint: ...

    async def start(self, sprint_id: UUID) -> Sprint:
        """Planned -> Active, on the server."""
        ...

    async def complete(self, sprint_id: UUID) -> Sprint:
        """Active -> Completed, on the server."""
        ...

    async def delete(self, sprint_id: UUID) -> None: ...
