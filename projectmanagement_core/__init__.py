"""pm-ws core: models, interfaces, exceptions, wire schema and validation. No I/O at all."""

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
from projectmanagement_core.validation import validate_request

__version__ = "0.1.0"

__all__ = [
    "BusinessRuleConflictException",
    "CircuitOpenException",
    "ConnectionException",
    "ErrorCode",
    "FieldError",
    "ProjectManagementException",
    "RateLimitClosedException",
    "RateLimitExceededException",
    "RequestTimeoutException",
    "ResponseTooLargeException",
    "ServerRejectedException",
    "UpdateNotAppliedException",
    "ValidationException",
    "VersionConflictException",
    "__version__",
    "exception_from_error",
    "validate_request",
]
