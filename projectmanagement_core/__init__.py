"""pm-ws core: models, interfaces, exceptions, wire schema and validation. No I/O at all.

The models and exceptions an application uses are re-exported here (``from projectmanagement_core
import WorkItem, VersionConflictException``); the rest lives in its module.
"""

from projectmanagement_core.exceptions import (
    BusinessRuleConflictException,
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    FieldError,
    ProjectManagementException,
    RateLimitClosedException,
    RateLimitExceededException,
    RequestTimeoutException,
    ResponseTooLargeException,
    ServerRejectedException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
    exception_from_error,
)
from projectmanagement_core.models import (
    CLEAR,
    ConnectionState,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    Project,
    ProjectStatus,
    Sprint,
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemType,
)
from projectmanagement_core.validation import validate_request

__version__ = "0.1.0"

__all__ = [
    "CLEAR",
    "BusinessRuleConflictException",
    "CircuitOpenException",
    "ConnectionException",
    "ConnectionState",
    "CreateProjectRequest",
    "CreateSprintRequest",
    "CreateWorkItemRequest",
    "ErrorCode",
    "FieldError",
    "Project",
    "ProjectManagementException",
    "ProjectStatus",
    "RateLimitClosedException",
    "RateLimitExceededException",
    "RequestTimeoutException",
    "ResponseTooLargeException",
    "ServerRejectedException",
    "Sprint",
    "SprintStatus",
    "UpdateNotAppliedException",
    "UpdateProjectRequest",
    "UpdateSprintRequest",
    "UpdateWorkItemRequest",
    "ValidationException",
    "VersionConflictException",
    "WorkItem",
    "WorkItemType",
    "__version__",
    "exception_from_error",
    "validate_request",
]
