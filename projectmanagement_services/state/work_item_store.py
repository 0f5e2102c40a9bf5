"""WorkItemStore: the client-side work items of the loaded projects (implements IWorkItemStore).

As the .NET store: reads by id, project, sprint and parent; optimistic writes. Unlike the .NET
store, broadcasts are applied by version (a client's own change arrives twice, as a broadcast and
as the answer, and is applied once) and a resync replaces a project's items with the server's full
list, reporting what was added, changed or removed while the client was away.

A create is shown at once as a placeholder with a temporary id, version 0 and a nil creator; the
server's item replaces it in one ``Updated`` change (``previous.id != current.id``), or a
``Removed`` rollback takes it away if the create fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from uuid import UUID, uuid4

from projectmanagement_core.applied_changes import holds_text
from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import (
    CreateWorkItemRequest,
    ProjectSnapshot,
    UpdateWorkItemRequest,
    WorkItem,
)
from projectmanagement_core.validation import validate_request
from projectmanagement_services.resilience.idempotency import creation_key
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.state.entity_store import EntityStore

__all__ = ["WorkItemStore"]

_NIL = UUID(int=0)
_DEFAULT_STATUS = "backlog"
_DEFAULT_PRIORITY = "medium"


def _by_position(items: Iterable[WorkItem]) -> list[WorkItem]:
    # UUIDs order as their canonical strings do, without a str() per item (10,000: 15 -> 5 ms).
    return sorted(items, key=lambda i: (i.position, i.item_number, i.created_at, i.id))


class WorkItemStore(EntityStore[WorkItem]):
    """Work items kept in step with the server through broadcasts, answers and resyncs.

    Subscribes to the client's work-item broadcasts on construction; ``close()`` unsubscribes.
    The store does not subscribe to projects on the server: do that through the client (the
    resilient client re-subscribes after a reconnect), and call ``attach_resync`` with the
    reconnection service so that what happened while away is applied.
    """

    def __init__(
        self,
        client: IWebSocketClient,
        *,
        utc_now: Callable[[], datetime] = lambda: datetime.now(UTC),
        slicer: Callable[[], TimeSlicer] = TimeSlicer,
    ) -> None:
        super().__init__(client, "WorkItemStore", slicer=slicer)
        self._utc_now = utc_now
        self._listen(client.on_work_item_created, lambda e: self._entities.apply_broadcast(e.work_item))
        self._listen(client.on_work_item_updated, lambda e: self._entities.apply_broadcast(e.work_item))
        self._listen(
            client.on_work_item_deleted, lambda e: self._entities.apply_broadcast_deletion(e.work_item_id)
        )

    # -- reads -------------------------------------------------------------------------------
    def get_by_project(self, project_id: UUID) -> list[WorkItem]:
        """Non-deleted items of a project, ordered by position."""
        return _by_position(self._entities.select(lambda i: i.project_id == project_id))

    def get_by_sprint(self, sprint_id: UUID) -> list[WorkItem]:
        """Non-deleted items planned into a sprint, ordered by position."""
        return _by_position(self._entities.select(lambda i: i.sprint_id == sprint_id))

    def get_children(self, parent_id: UUID) -> list[WorkItem]:
        """Non-deleted direct children of an item, ordered by position."""
        return _by_position(self._entities.select(lambda i: i.parent_id == parent_id))

    # -- server state ------------------------------------------------------------------------
    async def load_project(self, project_id: UUID) -> list[WorkItem]:
        """Fetch the project's full list and make it the store's truth; returns what readers now see."""
        await self._load(project_id, lambda: self._client.get_work_items(project_id))
        return self.get_by_project(project_id)

    def _entities_of(self, snapshot: ProjectSnapshot) -> Iterable[WorkItem]:
        return snapshot.work_items

    # -- writes ------------------------------------------------------------------------------
    async def create(self, request: CreateWorkItemRequest, *, idempotency_key: str | None = None) -> WorkItem:
        """Create on the server; a placeholder is visible until the server's item replaces it.

        ``idempotency_key``: the id of this create (new when None); a failure whose outcome is
        unknown carries it, and re-sending with it never makes a second item.
        """
        validate_request(request)
        placeholder = self._placeholder(request)

        def matches(item: WorkItem) -> bool:
            return (
                item.project_id == request.project_id
                and item.item_type == request.item_type
                and holds_text(item.title, request.title)  # pm-server stores text trimmed
                and item.parent_id == request.parent_id
                and holds_text(item.description, request.description)
                and item.status == placeholder.status
                and item.priority == placeholder.priority
            )

        return await self._create(
            placeholder,
            matches,
            creation_key(idempotency_key),
            lambda key: self._client.create_work_item(request, message_id=key),
        )

    async def update(self, request: UpdateWorkItemRequest) -> WorkItem:
        """Update optimistically; ``expected_version`` None means the store's current copy's version.

        A caller-supplied version older than the store's copy raises ``VersionConflictException``
        without sending; one the server finds stale raises it too. Either way nothing is overwritten.
        """
        validate_request(request)
        changes = request.changed_fields()

        return await self._update(
            request.work_item_id,
            request.expected_version,
            lambda current: current.model_copy(update=changes),
            lambda version: self._client.update_work_item(
                request.model_copy(update={"expected_version": version})
            ),
        )

    async def delete(self, work_item_id: UUID) -> None:
        """Delete optimistically: hidden at once, shown again if the server refuses."""
        await self._delete(work_item_id, lambda: self._client.delete_work_item(work_item_id))

    def _placeholder(self, request: CreateWorkItemRequest) -> WorkItem:
        now = self._utc_now()
        siblings = self._entities.select(
            lambda i: i.project_id == request.project_id and i.parent_id == request.parent_id
        )
        return WorkItem(
            id=uuid4(),
            item_type=request.item_type,
            project_id=request.project_id,
            title=request.title,
            description=request.description,
            parent_id=request.parent_id,
            status=request.status or _DEFAULT_STATUS,
            priority=request.priority or _DEFAULT_PRIORITY,
            version=0,
            position=max((s.position for s in siblings), default=-1) + 1,
            created_at=now,
            updated_at=now,
            created_by=_NIL,
            updated_by=_NIL,
        )
