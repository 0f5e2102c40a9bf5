"""VersionedEntityMap: server copies, optimistic overlays and tombstones of one kind of entity.

This is the bookkeeping both stores share, kept free of I/O so every ordering rule is unit-tested
without a network. It holds three layers per id:

* the *confirmed* copy: the newest version the server has told us about (answer, broadcast or
  list); a copy with a version not above the one held is stale or a duplicate and is ignored, which
  is what makes "a client sees its own change twice" harmless;
* an optional *overlay*: the optimistic copy of a write in flight (``None`` for a pending delete,
  a placeholder with a temporary id for a pending create); readers see it instead of the
  confirmed copy;
* *tombstones*: ids the server deleted, each with the point in the map's history at which it
  learned so (an int) and the project when known, never the entity itself. Deletion is final in
  pm-ws (there is no undelete), so a late create or update for a tombstoned id is ignored.

The overlay rule (the server always wins): a confirmed copy newer than the version an overlay was
built on replaces the overlay at once, and so does a server delete. A rollback restores the
confirmed copy only while its own overlay is still in place; when newer server news arrived
meanwhile, that news is kept and the rollback changes nothing. Since a store serialises writes per
id, the confirmed copy under an intact overlay is exactly what readers saw before the write, so a
rollback restores the previous state exactly.

Tombstones are forgotten once nothing can bring the deleted entity back, so the map's memory is
bounded by what it holds rather than by how many deletions it has seen. What can report a deleted
entity after its deletion was learned: a full list computed before the deletion, and an answer to
a request sent before it (a create re-sent after a lost answer is answered from the server's
idempotency store with the original item, even if it was deleted since). Broadcasts and answers
that arrive later over the same connection cannot, since the server handles a connection's
messages in order and broadcasts a project's changes in order. Hence:

* a deletion learned after the oldest write or ``fetching`` list still open began is never
  forgotten (its answer or list might still report the entity);
* ``forget_deletions(through)`` forgets the deletions learned up to ``through``: the store calls it
  when a new connection opens, because every list applied from then on is fetched over that
  connection (``apply_snapshot``'s contract) or later, after those deletions;
* ``replace_project`` forgets the project's deletions learned up to its ``fresh_since`` (the list
  was requested after them, so it was computed after them) and raises the project's *forgotten
  mark*; a list of that project with an older ``fresh_since`` (a resync list applied late) may then
  hold a forgotten entity, so it only updates entities the map holds and adds none: the newer list
  already added every entity of the project that the older one could (see ``replace_project``).

A deletion whose project is unknown (of an id the map never held) is forgotten at the next
connection, and sooner when more than ``unknown_deletions_limit`` of them are held: the oldest go
first. A hostile server can broadcast deletions of ids nobody ever held at any rate, and each would
otherwise stay until the next connection (issue 14: 157,800 of them in 60 s). Such a tombstone only
guards against a list computed before the deletion re-adding an entity the map never showed, so
losing the oldest ones under a flood costs at most a ghost entity until the next resync.
Forgetting never makes a deleted entity visible again; ``is_deleted`` turns False.

A full list may land in batches (``begin_landing``; the store hands the event loop back between
batches, see ``state/landing.py``). While any landing is under way, broadcasts
(``apply_broadcast``, ``apply_broadcast_deletion``) are held and applied in arrival order when the
last landing ends, so a list lands as if at once, before every broadcast that arrived after it;
answers to this client's writes (``confirm``, ``apply_server``) apply at once, under the same
version rules, which make their order against the held broadcasts irrelevant: versions only move
forward and a deletion is final.

Every change to what readers see is raised on ``on_changed`` as one ``EntityChange``, inside the
lock so that handlers observe changes in the order they happened. Reads and mutations are
thread-safe (a re-entrant lock: a handler may read the map).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from projectmanagement_core.models import ChangeKind, EntityChange
from projectmanagement_services.events import Event
from projectmanagement_services.state.landing import ProjectLanding

__all__ = ["DEFAULT_UNKNOWN_DELETIONS_LIMIT", "PendingWrite", "VersionedEntity", "VersionedEntityMap"]

#: Deletions of ids the map never held, remembered at most (the oldest are forgotten first).
DEFAULT_UNKNOWN_DELETIONS_LIMIT = 1024


class VersionedEntity(Protocol):
    """What the map needs of an entity: identity, owning project, version, and soft deletion."""

    @property
    def id(self) -> UUID: ...

    @property
    def project_id(self) -> UUID: ...

    @property
    def version(self) -> int: ...

    @property
    def is_deleted(self) -> bool: ...


E = TypeVar("E", bound=VersionedEntity)


@dataclass(eq=False)
class _Overlay(Generic[E]):
    """An optimistic copy; ``entity`` None hides the id (a pending delete)."""

    entity: E | None
    base_version: int


@dataclass(frozen=True, slots=True)
class _Tombstone:
    """A deleted id's record: when the map learned of the deletion, and the entity's project if known."""

    learned_at: int
    project_id: UUID | None


@dataclass(eq=False)
class _Placeholder(Generic[E]):
    """A pending create: matched against server creates so its real item replaces it in place."""

    matches: Callable[[E], bool]
    resolved_id: UUID | None = None


@dataclass(eq=False)
class PendingWrite(Generic[E]):
    """A write in flight, as returned by the ``begin_*`` methods and ended by confirm or rollback."""

    entity_id: UUID
    overlay: _Overlay[E] | None
    placeholder: _Placeholder[E] | None = None
    finished: bool = field(default=False)
    opened_at: int = 0


class VersionedEntityMap(Generic[E]):
    """The per-kind state of a store. See the module docstring for the rules."""

    def __init__(self, name: str, *, unknown_deletions_limit: int = DEFAULT_UNKNOWN_DELETIONS_LIMIT) -> None:
        self._lock = threading.RLock()
        self._unknown_deletions_limit = unknown_deletions_limit
        # Tombstones whose project is unknown, oldest first (a subset of _tombstones' keys).
        self._unknown_deletions: OrderedDict[UUID, None] = OrderedDict()
        self._confirmed: dict[UUID, E] = {}
        self._tombstones: dict[UUID, _Tombstone] = {}
        self._overlays: dict[UUID, _Overlay[E]] = {}
        self._placeholders: dict[UUID, _Placeholder[E]] = {}
        self._in_flight: Counter[UUID] = Counter()
        # When each confirmed copy was last stored (keys: exactly those of _confirmed).
        self._touched: dict[UUID, int] = {}
        # Marks at which the writes and list fetches still open began, with their counts.
        self._open_marks: Counter[int] = Counter()
        self._forgotten_through: dict[UUID, int] = {}
        self._sequence = 0
        # Landings under way, and the broadcasts held until the last one ends (in arrival order).
        self._landings = 0
        self._held: list[Callable[[], object]] = []
        self.on_changed: Event[EntityChange[E]] = Event(f"{name}.on_changed")

    # -- reads -------------------------------------------------------------------------------
    def get(self, entity_id: UUID) -> E | None:
        """What readers see: the overlay when one is in place, else the confirmed copy."""
        with self._lock:
            return self._visible(entity_id)

    def confirmed(self, entity_id: UUID) -> E | None:
        """The newest server copy (never an optimistic one), or None when unknown or deleted."""
        with self._lock:
            return self._confirmed.get(entity_id)

    def is_deleted(self, entity_id: UUID) -> bool:
        """True while the map remembers that the server deleted the id (see the forgetting rules)."""
        with self._lock:
            return entity_id in self._tombstones

    @property
    def remembered_deletions(self) -> int:
        """How many deleted ids the map still remembers: the part of its memory not visible to readers."""
        with self._lock:
            return len(self._tombstones)

    def select(self, predicate: Callable[[E], bool]) -> list[E]:
        """Every visible entity that satisfies ``predicate`` (unordered)."""
        with self._lock:
            visible = [e for i, e in self._confirmed.items() if i not in self._overlays]
            visible.extend(o.entity for o in self._overlays.values() if o.entity is not None)
            return [e for e in visible if predicate(e)]

    def is_pending(self, entity_id: UUID) -> bool:
        """True while a write to ``entity_id`` (or a create with that temporary id) is in flight."""
        with self._lock:
            return self._in_flight[entity_id] > 0

    def mark(self) -> int:
        """A point in the map's history: server news applied later counts as newer than it."""
        with self._lock:
            return self._sequence

    @contextmanager
    def fetching(self) -> Iterator[int]:
        """Hold deletions in memory while a full list is fetched; yields the mark taken before it.

        Pass the mark (or a later one that still predates the request) as ``replace_project``'s
        ``fresh_since``, after leaving the block: deletions learned meanwhile are not forgotten,
        since the list may have been computed before them.
        """
        with self._lock:
            opened_at = self._sequence
            self._open_marks[opened_at] += 1
        try:
            yield opened_at
        finally:
            with self._lock:
                self._close_mark(opened_at)

    def forget_deletions(self, through: int) -> int:
        """Forget the deletions learned up to mark ``through``; returns how many were forgotten.

        Call it when a new connection opens, with the mark taken then: every list applied later is
        fetched over that connection and so computed after those deletions. Deletions learned
        after the oldest write or list still open began are kept whatever ``through`` says.
        """
        with self._lock:
            limit = self._forgettable_through(through)
            forgettable = [
                entity_id
                for entity_id, tombstone in self._tombstones.items()
                if tombstone.learned_at <= limit
            ]
            for entity_id in forgettable:
                self._drop_tombstone(entity_id)
            return len(forgettable)

    # -- server news -------------------------------------------------------------------------
    def apply_server(self, entity: E, source: str = "server") -> EntityChange[E] | None:
        """Apply a copy from the server (broadcast, answer or list) if it is news."""
        with self._lock:
            return self._apply_server(entity, source)

    def apply_server_deletion(
        self, entity_id: UUID, last: E | None = None, source: str = "server"
    ) -> EntityChange[E] | None:
        """The server deleted ``entity_id``: hide it for good (idempotent)."""
        with self._lock:
            return self._apply_deletion(entity_id, last, source)

    def apply_broadcast(self, entity: E) -> EntityChange[E] | None:
        """``apply_server`` for a broadcast: held while a list lands (then returns None)."""
        with self._lock:
            if self._landings:
                self._held.append(lambda: self._apply_server(entity, "server"))
                return None
            return self._apply_server(entity, "server")

    def apply_broadcast_deletion(self, entity_id: UUID) -> EntityChange[E] | None:
        """``apply_server_deletion`` for a broadcast: held while a list lands (then returns None)."""
        with self._lock:
            if self._landings:
                self._held.append(lambda: self._apply_deletion(entity_id, None, "server"))
                return None
            return self._apply_deletion(entity_id, None, "server")

    def replace_project(
        self, project_id: UUID, entities: Iterable[E], *, fresh_since: int, source: str
    ) -> list[EntityChange[E]]:
        """Make a full server list the truth for one project, at once (see ``begin_landing``)."""
        with self._lock:
            landing = self.begin_landing(project_id, fresh_since=fresh_since, source=source)
            try:
                landing.apply(entities)
            except BaseException:
                landing.abandon()  # never leave broadcasts held behind a landing that failed
                raise
            return landing.finish()

    def begin_landing(self, project_id: UUID, *, fresh_since: int, source: str) -> ProjectLanding[E]:
        """Start making a full server list the truth for one project; feed it with ``apply``.

        Entities in the list are applied like any server copy (newer versions win; a same-version
        copy that differs refreshes derived fields, see ``_store_confirmed``). ``finish`` then
        removes the entities of the project that the map holds but the list lacked: they were
        deleted while we were away, unless the server told us about them after ``fresh_since``
        (then the list predates that news). ``abandon`` (a landing cut short) removes nothing.

        Then the project's deletions learned up to ``fresh_since`` are forgotten (the list was
        requested after them). A list older than the project's forgotten mark adds no entity the
        map does not hold: it might be one whose deletion was forgotten, and any entity it could
        rightly add was alive when the newer list that raised the mark was computed (after this
        one), so that list added it already.

        Broadcasts are held from now until the last landing under way ends.
        """
        with self._lock:
            self._landings += 1
            return ProjectLanding(self, project_id, fresh_since, source)

    def _land_batch(self, landing: ProjectLanding[E], entities: Iterable[E]) -> None:
        with self._lock:
            changes = landing.changes
            listed = landing.listed
            stale = landing.fresh_since < self._forgotten_through.get(landing.project_id, 0)
            for entity in entities:
                listed.add(entity.id)
                if stale and entity.id not in self._confirmed:
                    continue
                change = self._apply_server(entity, landing.source, refresh=True)
                if change is not None:
                    changes.append(change)

    def _end_landing(self, landing: ProjectLanding[E], *, complete: bool) -> None:
        with self._lock:
            try:
                if complete:
                    self._remove_unlisted(landing)
            finally:
                self._landings -= 1
                if not self._landings:
                    held, self._held = self._held, []
                    for apply in held:
                        apply()

    def _remove_unlisted(self, landing: ProjectLanding[E]) -> None:
        project_id, listed, fresh_since = landing.project_id, landing.listed, landing.fresh_since
        absent = [
            entity_id
            for entity_id, entity in self._confirmed.items()
            if entity.project_id == project_id
            and entity_id not in listed
            and self._touched.get(entity_id, 0) <= fresh_since
        ]
        for entity_id in absent:
            change = self._apply_deletion(entity_id, None, landing.source)
            if change is not None:
                landing.changes.append(change)
        self._forget_project_deletions(project_id, listed, fresh_since)

    # -- optimistic writes -------------------------------------------------------------------
    def begin_update(self, optimistic: E) -> PendingWrite[E]:
        """Show ``optimistic`` in place of the current copy while the update is in flight."""
        with self._lock:
            return self._begin(optimistic.id, _Overlay(optimistic, self._base_version(optimistic.id)))

    def begin_delete(self, entity_id: UUID) -> PendingWrite[E]:
        """Hide the entity while the delete is in flight."""
        with self._lock:
            return self._begin(entity_id, _Overlay(None, self._base_version(entity_id)))

    def begin_blind(self, entity_id: UUID) -> PendingWrite[E]:
        """A write to an entity the map does not hold: nothing to show until the answer."""
        with self._lock:
            return self._begin(entity_id, None)

    def begin_create(self, placeholder: E, matches: Callable[[E], bool]) -> PendingWrite[E]:
        """Show ``placeholder`` (a temporary id) until the server's item replaces it.

        ``matches`` recognises the server's create among the broadcasts, which arrive before the
        answer: the first match takes the placeholder's place in a single change. Should another
        client's identical create match first, the real item still arrives with the answer, so
        the store converges either way.
        """
        with self._lock:
            record = _Placeholder(matches)
            self._placeholders[placeholder.id] = record
            write = self._begin(placeholder.id, _Overlay(placeholder, 0))
            write.placeholder = record
            return write

    def confirm(self, write: PendingWrite[E], answer: E | None) -> EntityChange[E] | None:
        """End a write with the server's answer (``None``: the entity is deleted)."""
        with self._lock:
            self._finish(write)
            key = write.entity_id
            if write.placeholder is not None:
                self._placeholders.pop(key, None)
                if key not in self._overlays or answer is None:
                    return None if answer is None else self._apply_server(answer, "server")
                placeholder = self._overlays.pop(key).entity
                # Seen already (a broadcast the placeholder did not match): the placeholder goes.
                seen_already = self._visible(answer.id) is not None
                self._apply_server(answer, "server", emit=False)
                return self._emit(placeholder, None if seen_already else self._visible(answer.id), "server")
            before = self._visible(key)
            if write.overlay is not None and self._overlays.get(key) is write.overlay:
                del self._overlays[key]
            if answer is None:
                if key not in self._tombstones:
                    self._tombstone(key, None)
            else:
                self._store_confirmed(answer)
            return self._emit(before, self._visible(key), "server")

    def rollback(self, write: PendingWrite[E]) -> EntityChange[E] | None:
        """Undo a failed write: restore the confirmed copy, unless server news already replaced it."""
        with self._lock:
            self._finish(write)
            key = write.entity_id
            self._placeholders.pop(key, None)
            if write.overlay is None or self._overlays.get(key) is not write.overlay:
                return None
            before = self._visible(key)
            del self._overlays[key]
            return self._emit(before, self._visible(key), "rollback")

    # -- internals (lock held) ---------------------------------------------------------------
    def _visible(self, entity_id: UUID) -> E | None:
        overlay = self._overlays.get(entity_id)
        if overlay is not None:
            return overlay.entity
        return self._confirmed.get(entity_id)

    def _base_version(self, entity_id: UUID) -> int:
        current = self._confirmed.get(entity_id)
        return 0 if current is None else current.version

    def _begin(self, entity_id: UUID, overlay: _Overlay[E] | None) -> PendingWrite[E]:
        self._in_flight[entity_id] += 1
        self._open_marks[self._sequence] += 1
        write: PendingWrite[E] = PendingWrite(entity_id, overlay, opened_at=self._sequence)
        if overlay is not None:
            before = self._visible(entity_id)
            self._overlays[entity_id] = overlay
            self._emit(before, overlay.entity, "local")
        return write

    def _finish(self, write: PendingWrite[E]) -> None:
        if write.finished:
            raise RuntimeError("a pending write was ended twice")
        write.finished = True
        self._in_flight[write.entity_id] -= 1
        if self._in_flight[write.entity_id] <= 0:
            del self._in_flight[write.entity_id]
        self._close_mark(write.opened_at)

    def _close_mark(self, opened_at: int) -> None:
        self._open_marks[opened_at] -= 1
        if self._open_marks[opened_at] <= 0:
            del self._open_marks[opened_at]

    def _forgettable_through(self, through: int) -> int:
        """The newest deletion that may go: learned up to ``through`` and before every open request."""
        return min(through, min(self._open_marks, default=through))

    def _forget_project_deletions(self, project_id: UUID, listed: set[UUID], fresh_since: int) -> None:
        forgotten_through = self._forgotten_through.get(project_id, 0)
        limit = self._forgettable_through(fresh_since)
        forgettable = [
            (entity_id, tombstone.learned_at)
            for entity_id, tombstone in self._tombstones.items()
            if tombstone.project_id == project_id
            and entity_id not in listed
            and tombstone.learned_at <= limit
        ]
        for entity_id, learned_at in forgettable:
            self._drop_tombstone(entity_id)
            forgotten_through = max(forgotten_through, learned_at)
        if forgettable:
            self._forgotten_through[project_id] = forgotten_through

    def _touch(self, entity_id: UUID) -> None:
        self._sequence += 1
        self._touched[entity_id] = self._sequence

    def _store_confirmed(self, entity: E, *, refresh: bool = False) -> bool:
        """Keep ``entity`` as the confirmed copy if it is news; drop overlays it supersedes.

        ``refresh`` also takes a different copy of the same version: a full list carries derived
        fields (a work item's descendant ids) that change without a version bump and that no
        broadcast reports.
        """
        if entity.id in self._tombstones:
            return False
        current = self._confirmed.get(entity.id)
        refreshes = (
            refresh and current is not None and entity.version == current.version and entity != current
        )
        if current is not None and entity.version <= current.version and not refreshes:
            return False
        self._confirmed[entity.id] = entity
        self._touch(entity.id)
        overlay = self._overlays.get(entity.id)
        if overlay is not None and entity.version > overlay.base_version:
            del self._overlays[entity.id]
        return True

    def _tombstone(self, entity_id: UUID, last: E | None) -> None:
        copy = self._confirmed.pop(entity_id, None)
        self._touched.pop(entity_id, None)
        overlay = self._overlays.pop(entity_id, None)
        known = last if last is not None else copy
        if known is None and overlay is not None:
            known = overlay.entity
        self._sequence += 1
        project_id = None if known is None else known.project_id
        self._tombstones[entity_id] = _Tombstone(self._sequence, project_id)
        if project_id is None:
            self._unknown_deletions[entity_id] = None
            while len(self._unknown_deletions) > self._unknown_deletions_limit:
                oldest, _ = self._unknown_deletions.popitem(last=False)
                self._tombstones.pop(oldest, None)

    def _drop_tombstone(self, entity_id: UUID) -> None:
        del self._tombstones[entity_id]
        self._unknown_deletions.pop(entity_id, None)

    def _apply_server(
        self, entity: E, source: str, *, emit: bool = True, refresh: bool = False
    ) -> EntityChange[E] | None:
        if entity.is_deleted:
            return self._apply_deletion(entity.id, entity, source)
        if entity.id in self._tombstones:
            return None
        placeholder_id = None
        if entity.id not in self._confirmed and entity.id not in self._overlays:
            placeholder_id = self._claim_placeholder(entity)
        before = self._visible(entity.id if placeholder_id is None else placeholder_id)
        if placeholder_id is not None:
            del self._overlays[placeholder_id]
        if not self._store_confirmed(entity, refresh=refresh):
            return None
        return self._emit(before, self._visible(entity.id), source) if emit else None

    def _claim_placeholder(self, entity: E) -> UUID | None:
        for temporary_id, record in self._placeholders.items():
            if record.resolved_id is None and temporary_id in self._overlays and record.matches(entity):
                record.resolved_id = entity.id
                return temporary_id
        return None

    def _apply_deletion(self, entity_id: UUID, last: E | None, source: str) -> EntityChange[E] | None:
        if entity_id in self._tombstones:
            return None
        before = self._visible(entity_id)
        self._tombstone(entity_id, last)
        return self._emit(before, None, source)

    def _emit(self, before: E | None, after: E | None, source: str) -> EntityChange[E] | None:
        if before is None and after is None:
            return None
        if before is None:
            change = EntityChange(ChangeKind.ADDED, None, after, source)
        elif after is None:
            change = EntityChange(ChangeKind.REMOVED, before, None, source)
        elif before == after:
            return None
        else:
            change = EntityChange(ChangeKind.UPDATED, before, after, source)
        self.on_changed.emit(change)
        return change
