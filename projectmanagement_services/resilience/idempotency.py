"""Idempotent retries: one message_id per logical operation, and recognising an already-applied change.

pm-server de-duplicates creates by ``message_id`` alone, so a create retried with the same id after
its answer was lost returns the original item instead of making a second one. Updates and deletes
are not de-duplicated: a retried update that was already applied answers CONFLICT (its expected
version is now stale), a retried delete answers NOT_FOUND. After an attempt whose answer may have
been lost, those two answers are ambiguous: "someone else got there first" or "that was us". These
helpers decide which by looking at the entity as the server now holds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from pydantic import BaseModel

from projectmanagement_core.applied_changes import unapplied_fields
from projectmanagement_core.exceptions import (
    ErrorCode,
    FieldError,
    ProjectManagementException,
    ServerRejectedException,
    ValidationException,
)
from projectmanagement_services.resilience.classification import is_transient

# A lowercase hyphenated UUIDv4, as protocol.md asks for ``message_id``: the codec's own generator
# (cheaper than ``str(uuid.uuid4())``, and the codec does not re-check ids it made), re-exported here.
from projectmanagement_services.websocket.protocol import new_message_id

__all__ = [
    "CreateAttempts",
    "answer_may_be_lost",
    "creation_key",
    "holds_requested_change",
    "is_not_found",
    "new_message_id",
    "requested_changes",
]

_NOT_CHANGES = frozenset(
    {"work_item_id", "sprint_id", "project_id", "expected_version", "update_parent", "parent_id"}
)


T = TypeVar("T")


def creation_key(idempotency_key: str | None, message_id: str | None = None) -> str:
    """A create's id for all its attempts: the caller's idempotency key, else its message_id, else new.

    Raises:
        ValidationException: both were given and differ (one operation has one id).
    """
    if idempotency_key is not None and message_id is not None and idempotency_key != message_id:
        raise ValidationException(
            FieldError("idempotency_key", "differs from message_id: pass one id per operation")
        )
    return idempotency_key or message_id or new_message_id()


class CreateAttempts(Generic[T]):
    """The attempts of one create under one key; remembers whether any may have been applied.

    A failure after such an attempt leaves the outcome unknown even when the last attempt was
    refused before sending (a breaker or a rate limit): ``mark_if_uncertain`` then sets the
    exception's ``idempotency_key`` so the caller can re-send the create safely.
    """

    __slots__ = ("_key", "_send", "_uncertain")

    def __init__(self, key: str, send: Callable[[str], Awaitable[T]]) -> None:
        self._key = key
        self._send = send
        self._uncertain = False

    @property
    def key(self) -> str:
        return self._key

    async def __call__(self) -> T:
        try:
            return await self._send(self._key)
        except BaseException as exc:
            self._uncertain = self._uncertain or answer_may_be_lost(exc)
            raise

    def mark_if_uncertain(self, exc: ProjectManagementException) -> None:
        if self._uncertain or answer_may_be_lost(exc):
            exc.idempotency_key = self._key


def answer_may_be_lost(exc: BaseException) -> bool:
    """True when an attempt failed in a way that leaves open whether the server applied it.

    A timeout or a lost connection may come after the server processed the request. A server
    answer of SERVICE_UNAVAILABLE means it refused before processing, but TIMEOUT (its own handler
    timeout) does not say, so every transient error except SERVICE_UNAVAILABLE counts.
    """
    if isinstance(exc, ServerRejectedException):
        return exc.code == ErrorCode.TIMEOUT
    return is_transient(exc)


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ServerRejectedException) and exc.code == ErrorCode.NOT_FOUND


def requested_changes(request: BaseModel) -> Mapping[str, object]:
    """The fields an update request sets (``changed_fields()`` where the request defines it)."""
    changed_fields = getattr(request, "changed_fields", None)
    if callable(changed_fields):
        result: Mapping[str, object] = changed_fields()
        return result
    return {k: v for k, v in request if k not in _NOT_CHANGES and v is not None}


def holds_requested_change(entity: BaseModel, request: BaseModel, expected_version: int | None) -> bool:
    """True when ``entity`` is past ``expected_version`` and every field holds what ``request`` set.

    Then the conflicting answer was to our own earlier attempt (or to someone who made the very
    same change, which leaves the caller in the same place): the update is done. Fields compare as
    pm-server stores them (``unapplied_fields``: trimmed text, cleared ids as None). Only a
    ``VersionConflictException`` ever gets here: a CONFLICT at the current version
    (``BusinessRuleConflictException``) is a refusal, never "already applied".
    """
    version = getattr(entity, "version", None)
    if expected_version is not None and (not isinstance(version, int) or version <= expected_version):
        return False
    return not unapplied_fields(_Requested(requested_changes(request)), entity)


class _Requested:
    """A request reduced to its changed fields, as ``unapplied_fields`` reads one."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, object]) -> None:
        self._fields = dict(fields)

    def changed_fields(self) -> dict[str, object]:
        return self._fields
