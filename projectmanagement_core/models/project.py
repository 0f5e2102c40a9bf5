"""Projects: the entity, its status, and the create/update requests.

protocol.md reserves payloads 90-97 for projects without listing their fields; the schema in
``messages.proto`` defines them and these models mirror it.
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
    """A project; its creator is its admin."""

    id: UUID
    key: str
    name: str
    description: str | None = None
    status: ProjectStatus
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


class CreateProjectRequest(FrozenModel):
    """Create a project: a short upper-case ``key`` (e.g. "PM") and a display name."""

    key: str
    name: str
    description: str | None = None


class UpdateProjectRequest(FrozenModel):
    """Change some fields of a project; ``None`` leaves a field as it is."""

    project_id: UUID
    expected_version: int | None = None
    name: str | None = None
    description: str | None = None
    status: ProjectStatus | None = None
