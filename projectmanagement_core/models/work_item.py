"""Work items: the entity, its type, and the create/update requests."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final, Literal
from uuid import UUID

from pydantic import Field, model_validator

from projectmanagement_core.models._base import FrozenModel, UtcDateTime

__all__ = [
    "CLEAR",
    "STORED_WORK_ITEM_STATUSES",
    "WORK_ITEM_PRIORITIES",
    "WORK_ITEM_STATUSES",
    "CreateWorkItemRequest",
    "UpdateWorkItemRequest",
    "WorkItem",
    "WorkItemType",
]

#: Statuses pm-server's update handler accepts; new items start as "backlog".
WORK_ITEM_STATUSES: Final = ("backlog", "todo", "in_progress", "review", "done", "blocked")
#: Statuses pm-server can store: its database's CHECK constraint refuses "blocked" (DATABASE_ERROR,
#: a pm-server quirk), so the client validates against these and rejects "blocked" before sending.
STORED_WORK_ITEM_STATUSES: Final = ("backlog", "todo", "in_progress", "review", "done")
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


#: Pass as ``assignee_id``, ``sprint_id`` or ``parent_id`` of an update to clear that field. It is
#: the wire's own spelling: pm-server reads an empty id string as "none".
CLEAR: Final = ""

_CLEARABLE: Final = ("assignee_id", "sprint_id", "parent_id")


class UpdateWorkItemRequest(FrozenModel):
    """Change some fields of a work item; ``None`` leaves a field as it is.

    ``expected_version`` is required on the wire. It may be left ``None`` here only when a store
    fills it from its current copy; the client rejects a request that still lacks it.
    ``assignee_id``, ``sprint_id`` and ``parent_id`` set to ``CLEAR`` remove the assignee, take the
    item out of its sprint, or move it to the top level (as does ``update_parent=True`` with
    ``parent_id=None``). A ``parent_id`` always travels with ``update_parent`` (pm-server ignores a
    parent without it).
    """

    work_item_id: UUID
    expected_version: int | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    assignee_id: UUID | Literal[""] | None = None
    sprint_id: UUID | Literal[""] | None = None
    position: int | None = None
    priority: str | None = None
    story_points: int | None = None
    parent_id: UUID | Literal[""] | None = None
    update_parent: bool = Field(default=False)

    @model_validator(mode="before")
    @classmethod
    def _parent_travels_with_its_flag(cls, data: Any) -> Any:
        """A given ``parent_id`` sets ``update_parent``: pm-server ignores a parent without it."""
        if isinstance(data, dict) and data.get("parent_id") is not None and not data.get("update_parent"):
            return {**data, "update_parent": True}
        return data

    def changed_fields(self) -> dict[str, object]:
        """The fields this request sets, as the item would hold them (a cleared field is ``None``)."""
        skip = {"work_item_id", "expected_version", "update_parent", "parent_id"}
        fields: dict[str, object] = {k: v for k, v in self if k not in skip and v is not None}
        if self.update_parent:
            fields["parent_id"] = self.parent_id
        for name in _CLEARABLE:
            if fields.get(name) == CLEAR:
                fields[name] = None
        return fields
