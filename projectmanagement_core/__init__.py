"""pm-ws core: models, interfaces, exceptions, wire schema and validation. No I/O at all.

The models and exceptions an application uses are re-exported here (``from projectmanagement_core
import WorkItem, VersionConflictException``); the rest lives in its module. The re-exports are lazy
(PEP 562, ``_lazy``): importing a light module such as ``projectmanagement_core.uuids`` (as ``pm
--help`` does) loads no model, and so not pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_core._lazy import lazy_exports

if TYPE_CHECKING:
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

#: Exported name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "BusinessRuleConflictException": "projectmanagement_core.exceptions",
    "CLEAR": "projectmanagement_core.models",
    "CircuitOpenException": "projectmanagement_core.exceptions",
    "ConnectionException": "projectmanagement_core.exceptions",
    "ConnectionState": "projectmanagement_core.models",
    "CreateProjectRequest": "projectmanagement_core.models",
    "CreateSprintRequest": "projectmanagement_core.models",
    "CreateWorkItemRequest": "projectmanagement_core.models",
    "ErrorCode": "projectmanagement_core.exceptions",
    "FieldError": "projectmanagement_core.exceptions",
    "Project": "projectmanagement_core.models",
    "ProjectManagementException": "projectmanagement_core.exceptions",
    "ProjectStatus": "projectmanagement_core.models",
    "RateLimitClosedException": "projectmanagement_core.exceptions",
    "RateLimitExceededException": "projectmanagement_core.exceptions",
    "RequestTimeoutException": "projectmanagement_core.exceptions",
    "ResponseTooLargeException": "projectmanagement_core.exceptions",
    "ServerRejectedException": "projectmanagement_core.exceptions",
    "Sprint": "projectmanagement_core.models",
    "SprintStatus": "projectmanagement_core.models",
    "UpdateNotAppliedException": "projectmanagement_core.exceptions",
    "UpdateProjectRequest": "projectmanagement_core.models",
    "UpdateSprintRequest": "projectmanagement_core.models",
    "UpdateWorkItemRequest": "projectmanagement_core.models",
    "ValidationException": "projectmanagement_core.exceptions",
    "VersionConflictException": "projectmanagement_core.exceptions",
    "WorkItem": "projectmanagement_core.models",
    "WorkItemType": "projectmanagement_core.models",
    "exception_from_error": "projectmanagement_core.exceptions",
    "validate_request": "projectmanagement_core.validation",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

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
