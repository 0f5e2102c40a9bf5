"""ProjectSnapshot: the server's whole truth for one project, fetched on resync after a reconnect.

pm-server ignores ``since_timestamp`` and never sends tombstones, so the full list is what a store
replaces its copy with: anything it holds that is absent here was deleted while it was away.
"""

from __future__ import annotations

from uuid import UUID

from projectmanagement_core.models._base import FrozenModel, UtcDateTime
from projectmanagement_core.models.sprint import Sprint
from projectmanagement_core.models.work_item import WorkItem

__all__ = ["ProjectSnapshot"]


class ProjectSnapshot(FrozenModel):
    """Every non-deleted work item and sprint of ``project_id`` as of ``as_of``."""

    project_id: UUID
    work_items: tuple[WorkItem, ...] = ()
    sprints: tuple[Sprint, ...] = ()
    as_of: UtcDateTime
