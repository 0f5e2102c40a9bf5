"""EntityChange: what a store tells its readers when an entity appears, changes or disappears."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

__all__ = ["ChangeKind", "EntityChange"]

T = TypeVar("T")


class ChangeKind(StrEnum):
    """Why ``on_changed`` fired."""

    ADDED = "Added"
    UPDATED = "Updated"
    REMOVED = "Removed"


@dataclass(frozen=True, slots=True)
class EntityChange(Generic[T]):
    """One change to one entity in a store: ``previous`` is None when added, ``current`` when removed.

    ``source`` says where it came from: "local" (optimistic write), "server" (an answer or broadcast),
    "rollback" (a failed write undone) or "resync" (the full list after a reconnect).
    """

    kind: ChangeKind
    previous: T | None
    current: T | None
    source: str = "server"
