"""Ancestor and descendant ids of work items, computed as pm-server's ``hierarchy.rs`` does.

From one project's live items only: ancestors walk up from the parent to the root, descendants are
collected breadth first in the items' (position) order. A parent outside that set (deleted, or in
another project, which pm-server does not forbid) ends the walk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["fill_hierarchy"]


def fill_hierarchy(items: Sequence[pb.WorkItem]) -> None:
    """Set ``ancestor_ids`` and ``descendant_ids`` of every item from the others in ``items``."""
    known = {item.id for item in items}
    parent_of = {item.id: item.parent_id for item in items if item.HasField("parent_id")}
    children_of: dict[str, list[str]] = {}
    for item in items:
        if item.HasField("parent_id"):
            children_of.setdefault(item.parent_id, []).append(item.id)
    for item in items:
        del item.ancestor_ids[:]
        del item.descendant_ids[:]
        item.ancestor_ids.extend(_ancestors(item.id, parent_of, known))
        item.descendant_ids.extend(_descendants(item.id, children_of))


def _ancestors(item_id: str, parent_of: dict[str, str], known: set[str]) -> list[str]:
    found: list[str] = []
    seen = {item_id}
    current = item_id
    while current in parent_of:
        parent = parent_of[current]
        if parent in seen:
            break  # a cycle in malformed data
        seen.add(parent)
        found.append(parent)
        if parent not in known:
            break  # pm-server's index holds only the project's live items
        current = parent
    return found


def _descendants(item_id: str, children_of: dict[str, list[str]]) -> list[str]:
    found: list[str] = []
    seen = {item_id}
    queue = deque(children_of.get(item_id, ()))
    while queue:
        child = queue.popleft()
        if child in seen:
            continue
        seen.add(child)
        found.append(child)
        queue.extend(children_of.get(child, ()))
    return found
