"""ActivityLogEntry: the audit record the server broadcasts before each entity event."""

from __future__ import annotations

from uuid import UUID

from projectmanagement_core.models._base import FrozenModel, UtcDateTime

__all__ = ["ActivityLogEntry"]


class ActivityLogEntry(FrozenModel):
    """One audited action (created, updated, deleted) on an entity."""

    id: UUID
    entity_type: str
    entity_id: UUID
    action: str
    user_id: UUID
    timestamp: UtcDateTime
    field_name: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    comment: str | None = None
