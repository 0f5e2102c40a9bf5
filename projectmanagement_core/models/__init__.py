"""Frozen pydantic models and enums: the types every layer of the client speaks."""

from projectmanagement_core.models._base import UtcDateTime
from projectmanagement_core.models.activity import ActivityLogEntry
from projectmanagement_core.models.change import ChangeKind, EntityChange
from projectmanagement_core.models.connection import (
    ConnectionQuality,
    ConnectionState,
    ConnectionStateChange,
)
from projectmanagement_core.models.events import (
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    SprintCreated,
    SprintDeleted,
    SprintUpdated,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemUpdated,
)
from projectmanagement_core.models.field_change import FieldChange
from projectmanagement_core.models.project import (
    CreateProjectRequest,
    Project,
    ProjectStatus,
    UpdateProjectRequest,
)
from projectmanagement_core.models.snapshot import ProjectSnapshot
from projectmanagement_core.models.sprint import (
    CreateSprintRequest,
    Sprint,
    SprintStatus,
    UpdateSprintRequest,
)
from projectmanagement_core.models.work_item import (
    CLEAR,
    STORED_WORK_ITEM_STATUSES,
    WORK_ITEM_PRIORITIES,
    WORK_ITEM_STATUSES,
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)

__all__ = [
    "CLEAR",
    "STORED_WORK_ITEM_STATUSES",
    "WORK_ITEM_PRIORITIES",
    "WORK_ITEM_STATUSES",
    "ActivityLogEntry",
    "ChangeKind",
    "ConnectionQuality",
    "ConnectionState",
    "ConnectionStateChange",
    "CreateProjectRequest",
    "CreateSprintRequest",
    "CreateWorkItemRequest",
    "EntityChange",
    "FieldChange",
    "Project",
    "ProjectCreated",
    "ProjectDeleted",
    "ProjectSnapshot",
    "ProjectStatus",
    "ProjectUpdated",
    "Sprint",
    "SprintCreated",
    "SprintDeleted",
    "SprintStatus",
    "SprintUpdated",
    "UpdateProjectRequest",
    "UpdateSprintRequest",
    "UpdateWorkItemRequest",
    "UtcDateTime",
    "WorkItem",
    "WorkItemCreated",
    "WorkItemDeleted",
    "WorkItemType",
    "WorkItemUpdated",
]
