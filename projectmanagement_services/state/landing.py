"""Landing a project's full server list in batches, without stalling the event loop.

A resync of a 10,000-item project is 30-50 ms of map bookkeeping and change events on top of the
conversion; done in one go it blocks every other task of the host application. ``land`` applies
the list a batch at a time and hands the loop back between batches (``TimeSlicer``), while the map
keeps the result exactly what a landing in one go gives: broadcasts that arrive meanwhile are held
and applied after the last batch (see ``VersionedEntityMap.begin_landing``), answers apply at once
under the usual version rules, and a landing cut short (cancelled) removes nothing it did not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Generic, TypeVar
from uuid import UUID

from projectmanagement_core.models import EntityChange
from projectmanagement_services.slicing import TimeSlicer

if TYPE_CHECKING:
    from projectmanagement_services.state.versioned_map import VersionedEntity, VersionedEntityMap

__all__ = ["ProjectLanding", "land"]

E = TypeVar("E", bound="VersionedEntity")


class ProjectLanding(Generic[E]):
    """One list being landed: feed it with ``apply``, end it with ``finish`` or ``abandon`` (once)."""

    __slots__ = ("_ended", "_map", "changes", "fresh_since", "listed", "project_id", "source")

    def __init__(
        self, entity_map: VersionedEntityMap[E], project_id: UUID, fresh_since: int, source: str
    ) -> None:
        self._map = entity_map
        self._ended = False
        self.project_id = project_id
        self.fresh_since = fresh_since
        self.source = source
        self.listed: set[UUID] = set()
        self.changes: list[EntityChange[E]] = []

    def apply(self, entities: Iterable[E]) -> None:
        """Apply the next part of the list (any size; the map's lock is held while it runs)."""
        if self._ended:
            raise RuntimeError("this landing has ended")
        self._map._land_batch(self, entities)

    def finish(self) -> list[EntityChange[E]]:
        """The whole list was applied: remove what it lacked, release held broadcasts; every change."""
        self._end(complete=True)
        return self.changes

    def abandon(self) -> None:
        """The list was not applied whole: remove nothing, release the held broadcasts."""
        self._end(complete=False)

    def _end(self, *, complete: bool) -> None:
        if self._ended:
            raise RuntimeError("a landing was ended twice")
        self._ended = True
        self._map._end_landing(self, complete=complete)


async def land(
    entity_map: VersionedEntityMap[E],
    project_id: UUID,
    entities: Iterable[E],
    *,
    fresh_since: int,
    source: str,
    slicer: TimeSlicer | None = None,
) -> list[EntityChange[E]]:
    """``replace_project``, a batch at a time, handing the loop back when a slice is used up.

    On cancellation (or any error) the landing is abandoned: what was applied stays (each copy by
    the usual rules), nothing is removed, held broadcasts are applied, and the exception propagates.
    """
    slicer = slicer or TimeSlicer()
    landing = entity_map.begin_landing(project_id, fresh_since=fresh_since, source=source)
    try:
        for batch in slicer.batches(entities):
            landing.apply(batch)
            await slicer.checkpoint()
        if slicer.yields:
            await slicer.pause()  # the final step (a scan of every entity held) gets a slice of its own
    except BaseException:
        landing.abandon()
        raise
    changes = landing.finish()
    if slicer.yields:
        await slicer.pause()  # and so does what the caller does next (load_project's sorted read)
    return changes
