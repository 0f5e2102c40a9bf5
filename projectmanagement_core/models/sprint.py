"""Sprints: the entity, its status, and the create/update requests."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from projectmanagement_core.models._base import FrozenModel, UtcDateTime

__all__ = ["CreateSprintRequest", "Sprint", "SprintStatus", "UpdateSprintRequest"]


class SprintStatus(StrEnum):
    """Lifecycle of a sprint (wire values 1-4)."""

    PLANNED = "Planned"
    ACTIVE = "Active"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


class Sprint(FrozenModel):
    """A sprint as the server holds it."""

    id: UUID
    project_id: UUID
    name: str
    goal: str | None = None
    start_date: UtcDateTime
    end_date: UtcDateTime
    status: SprintStatus
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    created_by: UUID
    updated_by: UUID
    deleted_at: UtcDateTime | None = None

    @property
    def is_deleted(self) -> bool:
        """Soft-deleted on the server (``deleted_at`` set)."""
        return self.deleted_at is not None


class CreateSprintRequest(FrozenModel):
    """Create a sprint; ``start_date`` must precede ``end_date``."""

    project_id: UUID
    name: str
    start_date: UtcDateTime
    end_date: UtcDateTime
    goal: str | None = None


class UpdateSprintRequest(FrozenModel):
    """Change some fields of a sprint; ``None`` leaves a field as it is (see UpdateWorkItemRequest)."""

    sprint_id: UUID
    expected_version: int | None = None
    name: str | None = None
    goal: str | None = None
    start_date: UtcDateTime | None = None
    end_date: UtcDateTime | None = None
    status: SprintStatus | None = None

    def changed_fields(self) -> dict[str, object]:
        """The fields this request sets."""
        return {k: v for k, v in self if k not in {"sprint_id", "expected_version"} and v is not None}
