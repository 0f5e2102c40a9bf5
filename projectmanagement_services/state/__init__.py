"""Client-side state: work items and sprints with optimistic writes, broadcast application and resync."""

from projectmanagement_services.state.entity_store import EntityStore, ResyncSource
from projectmanagement_services.state.keyed_locks import KeyedLocks
from projectmanagement_services.state.sprint_store import SprintStore
from projectmanagement_services.state.versioned_map import PendingWrite, VersionedEntity, VersionedEntityMap
from projectmanagement_services.state.work_item_store import WorkItemStore

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
