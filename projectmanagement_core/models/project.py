"""Projects: the entity, its status, and the create/update requests.

Fields as pm-server v0.1.4's ``proto/messages.proto`` (payloads 90-97): a project has a ``title``
and a short ``key``; the server upper-cases the key and numbers the project's items from
``next_work_item_number``.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from projectmanagement_core.models._base import FrozenModel, UtcDateTime

__all__ = ["CreateProjectRequest", "Project", "ProjectStatus", "UpdateProjectRequest"]


class ProjectStatus(StrEnum):
    """Whether a project is in use (wire values 1, 2)."""

    ACTIVE = "Active"
    ARCHIVED = "Archived"


class Project(FrozenModel):
    """A project as the server holds it; its creator is its admin."""

    id: UUID
    key: str
    title: str
    description: str | None = None
    status: ProjectStatus
    version: int
    created_at: UtcDateTime
    updated_at: UtcDateTime
    created_by: UUID
    updated_by: UUID
    deleted_at: UtcDateTime | None = None
    next_work_item_number: int = 0

    @property
    def is_deleted(self) -> bool:
        """Soft-deleted on the server (``deleted_at`` set)."""
        return self.deleted_at is not None


class CreateProjectRequest(FrozenModel):
    """Create a project: a short ``key`` (e.g. "PM"; the server upper-cases it) and a ``title``."""

    key: str
    title: str
    description: str | None = None


class UpdateProjectRequest(FrozenModel):
    """Change some fields of a project; ``None`` leaves a field as it is."""

    project_id: UUID
    expected_version: int | None = None
    title: str | None = None
    description: str | None = None
    status: ProjectStatus | None = None

    def changed_fields(self) -> dict[str, object]:
        """The fields this request sets."""
        return {k: v for k, v in self if k not in {"project_id", "expected_version"} and v is not None}
