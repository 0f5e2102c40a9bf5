"""Typed broadcast events: what a subscribed client is told about other clients' (and its own) changes."""

from __future__ import annotations

from uuid import UUID

from projectmanagement_core.models._base import FrozenModel
from projectmanagement_core.models.field_change import FieldChange
from projectmanagement_core.models.project import Project
from projectmanagement_core.models.sprint import Sprint
from projectmanagement_core.models.work_item import WorkItem

__all__ = [
    "ProjectCreated",
    "ProjectDeleted",
    "ProjectUpdated",
    "SprintCreated",
    "SprintDeleted",
    "SprintUpdated",
    "WorkItemCreated",
    "WorkItemDeleted",
    "WorkItemUpdated",
]


class WorkItemCreated(FrozenModel):
    work_item: WorkItem
    user_id: UUID


class WorkItemUpdated(FrozenModel):
    work_item: WorkItem
    changes: tuple[FieldChange, ...] = ()
    user_id: UUID


class WorkItemDeleted(FrozenModel):
    work_item_id: UUID
    user_id: UUID


class SprintCreated(FrozenModel):
    sprint: Sprint
    user_id: UUID


class SprintUpdated(FrozenModel):
    sprint: Sprint
    changes: tuple[FieldChange, ...] = ()
    user_id: UUID


class SprintDeleted(FrozenModel):
    sprint_id: UUID
    user_id: UUID


class ProjectCreated(FrozenModel):
    project: Project
    user_id: UUID


class ProjectUpdated(FrozenModel):
    project: Project
    changes: tuple[FieldChange, ...] = ()
    user_id: UUID


class ProjectDeleted(FrozenModel):
    project_id: UUID
    user_id: UUID
