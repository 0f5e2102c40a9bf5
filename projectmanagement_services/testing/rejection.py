"""The one exception the reference server's request handling raises to answer with an Error.

The constructors below spell each error as pm-server's ``WsError`` displays it (``error.rs``): the
``Error.message`` a client sees is the variant's prefix plus the handler's text, and only
VALIDATION_ERROR carries a ``field``. pm-server also appends a source location to INVALID_MESSAGE and
INTERNAL_ERROR texts; the reference server leaves it out (**ref**).
"""

from __future__ import annotations

__all__ = [
    "RequestRejected",
    "conflict",
    "database_error",
    "delete_blocked",
    "invalid_message",
    "not_found",
    "unauthorized",
    "validation_error",
]


class RequestRejected(Exception):
    """A request the server refuses; becomes a ``pm.Error`` answer with the same fields.

    Raised anywhere inside the handling of one request, so the rules read top to bottom instead of
    threading error values through every helper.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


def invalid_message(text: str) -> RequestRejected:
    """INVALID_MESSAGE: never names a field (pm-server's variant has none)."""
    return RequestRejected("INVALID_MESSAGE", f"Invalid message: {text}")


def validation_error(text: str, field: str) -> RequestRejected:
    return RequestRejected("VALIDATION_ERROR", f"Validation failed: {text}", field)


def not_found(text: str) -> RequestRejected:
    return RequestRejected("NOT_FOUND", f"Resource not found: {text}")


def unauthorized(text: str) -> RequestRejected:
    return RequestRejected("UNAUTHORIZED", f"Unauthorized: {text}")


def conflict(current_version: int) -> RequestRejected:
    """CONFLICT always carries the entity's *current* version, also for sprint business rules."""
    return RequestRejected(
        "CONFLICT", f"Conflict: resource was modified (current version: {current_version})"
    )


def delete_blocked(text: str) -> RequestRejected:
    return RequestRejected("DELETE_BLOCKED", f"Cannot delete: {text}")


def database_error(text: str) -> RequestRejected:
    return RequestRejected("DATABASE_ERROR", f"Database error: {text}")
