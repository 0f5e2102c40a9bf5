"""Work items: the entity, its type, and the create/update requests."""

from __future__ import annotations

from enum import StrEnum
from typing import Final
from uuid import UUID

from pydantic import Field

from projectmanagement_core.models._base import FrozenModel, UtcDateTime

__all__ = [
    "WORK_ITEM_PRIORITIES",
    "WORK_ITEM_STATUSES",
    "CreateWorkItemRequest",
    "UpdateWorkItemRequest",
    "WorkItem",
    "WorkItemType",
]

#: Statuses pm-server accepts (protocol.md); new items start as "backlog".
WORK_ITEM_STATUSES: Final = ("backlog", "todo", "in_progress", "review", "done", "blocked")
#: Priorities pm-server accepts; new items default to "medium".
WORK_ITEM_PRIORITIES: Final = ("low", "medium", "high", "critical")


class WorkItemType(StrEnum):
    """Hierarchy level: Epic > Story > Task (as the .NET enum; wire values 2, 3, 4)."""

    EPIC = "Epic"
    STORY = "Story"
    TASK = "Task"


class WorkItem(FrozenModel):
    """A work item as the server holds it. ``version`` drives optimistic concurrency."""

    id: UUID
    item_type: WorkItemType
    project_id: UUID
    title: str
    status: str
    priority: str
    version: int
    position: int = 0
    item_number: int = 0
    parent_id: UUID | None = None
    description: str | None = None
    assignee_id: UUID | None = None
    sprint_id: UUID | None = None
    story_points: int | None = None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    created_by: UUID
    updated_by: UUID
    deleted_at: UtcDateTime | None = None
    ancestor_ids: tuple[UUID, ...] = ()
    descendant_ids: tuple[UUID, ...] = ()

    @property
    def is_deleted(self) -> bool:
        """Soft-deleted on the server (``deleted_at`` set)."""
        return self.deleted_at is not None


class CreateWorkItemRequest(FrozenModel):
    """Create a work item. Unset status/priority take the server's defaults (backlog, medium)."""

    project_id: UUID
    item_type: WorkItemType
    title: str
    description: str | None = None
    parent_id: UUID | None = None
    status: str | None = None
    priority: str | None = None


class UpdateWorkItemRequest(FrozenModel):
    """Change some fields of a work item; ``None`` leaves a field as it is.

    ``expected_version`` is required on the wire. It may be left ``None`` here only when a store
    fills it from its current copy; the client rejects a request that still lacks it.
    ``update_parent=True`` with ``parent_id=None`` moves the item to the top level.
    """

    work_item_id: UUID
    expected_version: int | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    assignee_id: UUID | None = None
    sprint_id: UUID | None = None
    position: int | None = None
    priority: str | None = None
    story_points: int | None = None
    parent_id: UUID | None = None
    update_parent: bool = Field(default=False)

    def changed_fields(self) -> dict[str, object]:
        """The fields this request sets (parent included when ``update_parent``)."""
        skip = {"work_item_id", "expected_version", "update_parent", "parent_id"}
        fields = {k: v for k, v in self if k not in skip and v is not None}
        if self.update_parent or self.parent_id is not None:
            fields["parent_id"] = self.parent_id
        return fields
