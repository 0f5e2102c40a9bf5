"""Client-side state: work items and sprints with optimistic writes, broadcast application and resync."""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services.state.entity_store import EntityStore, ResyncSource
    from projectmanagement_services.state.keyed_locks import KeyedLocks
    from projectmanagement_services.state.sprint_store import SprintStore
    from projectmanagement_services.state.versioned_map import (
        PendingWrite,
        VersionedEntity,
        VersionedEntityMap,
    )
    from projectmanagement_services.state.work_item_store import WorkItemStore

#: Exported name -> its module, imported on first access (PEP 562): importing the package stays cheap.
_ORIGINS: dict[str, str] = {
    "EntityStore": "projectmanagement_services.state.entity_store",
    "KeyedLocks": "projectmanagement_services.state.keyed_locks",
    "PendingWrite": "projectmanagement_services.state.versioned_map",
    "ResyncSource": "projectmanagement_services.state.entity_store",
    "SprintStore": "projectmanagement_services.state.sprint_store",
    "VersionedEntity": "projectmanagement_services.state.versioned_map",
    "VersionedEntityMap": "projectmanagement_services.state.versioned_map",
    "WorkItemStore": "projectmanagement_services.state.work_item_store",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _ORIGINS)

__all__ = [
    "EntityStore",
    "KeyedLocks",
    "PendingWrite",
    "ResyncSource",
    "SprintStore",
    "VersionedEntity",
    "VersionedEntityMap",
    "WorkItemStore",
]
