"""The state package exports exactly its public names."""

from __future__ import annotations

import projectmanagement_services.state as state


def test_package_exports_exactly_the_public_names() -> None:
    assert set(state.__all__) == {
        "EntityStore",
        "KeyedLocks",
        "PendingWrite",
        "ResyncSource",
        "SprintStore",
        "VersionedEntity",
        "VersionedEntityMap",
        "WorkItemStore",
    }
    assert all(getattr(state, name) is not None for name in state.__all__)
