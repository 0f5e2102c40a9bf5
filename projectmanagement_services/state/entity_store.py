"""EntityStore: what WorkItemStore and SprintStore share (optimistic writes, resync, lifecycle).

A write runs under its entity's lock (``KeyedLocks``): writes to different entities run
concurrently, writes to one entity queue, so two of them never interleave into a mixed state and
the second one takes its expected version from the first one's answer. The write is shown at once
(source "local"), sent, and then ended either with the server's answer or, on any exception
including cancellation, with an exact rollback (source "rollback") before the exception propagates.

Writes must be awaited on the event loop of the client; reads (``get`` and the stores' queries) are
thread-safe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar, cast, runtime_checkable
from uuid import UUID

from projectmanagement_core.exceptions import (
    FieldError,
    ProjectManagementException,
    UpdateNotAppliedException,
    ValidationException,
    VersionConflictException,
)
from projectmanagement_core.interfaces import IEvent, IWebSocketClient
from projectmanagement_core.models import (
    ConnectionState,
    ConnectionStateChange,
    EntityChange,
    ProjectSnapshot,
)
from projectmanagement_services.events import Event
from projectmanagement_services.resilience.idempotency import CreateAttempts
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.state.keyed_locks import KeyedLocks
from projectmanagement_services.state.landing import land
from projectmanagement_services.state.versioned_map import (
    PendingWrite,
    VersionedEntity,
    VersionedEntityMap,
)

__all__ = ["EntityStore", "LandingResyncSource", "ResyncSource", "SnapshotLander"]

E = TypeVar("E", bound=VersionedEntity)
T = TypeVar("T")


class ResyncSource(Protocol):
    """Anything that announces a project's full server state after a reconnect (ReconnectionService)."""

    @property
    def on_resynced(self) -> IEvent[ProjectSnapshot]: ...


#: An async consumer of a snapshot: the source awaits it before announcing the snapshot.
SnapshotLander = Callable[[ProjectSnapshot], Awaitable[object]]


@runtime_checkable
class LandingResyncSource(ResyncSource, Protocol):
    """A resync source that awaits the stores' landing (in slices) before raising ``on_resynced``."""

    def add_lander(self, lander: SnapshotLander) -> None: ...

    def remove_lander(self, lander: SnapshotLander) -> None: ...


class EntityStore(ABC, Generic[E]):
    """The shared half of a store over one kind of versioned entity."""

    def __init__(
        self, client: IWebSocketClient, name: str, *, slicer: Callable[[], TimeSlicer] = TimeSlicer
    ) -> None:
        self._client = client
        self._new_slicer = slicer
        self._landers: list[tuple[LandingResyncSource, SnapshotLander]] = []
        self._entities: VersionedEntityMap[E] = VersionedEntityMap(name)
        self._write_locks: KeyedLocks[UUID] = KeyedLocks()
        self._update_not_applied: Event[UpdateNotAppliedException] = Event(f"{name}.on_update_not_applied")
        self._subscriptions: list[tuple[IEvent[Any], Callable[[Any], object]]] = []
        # Server news applied after this mark came over the current connection, so it is at
        # least as new as any list fetched over that connection (see apply_snapshot).
        self._connected_mark = 0
        self._listen(client.on_state_changed, self._on_state_changed)

    # -- reads -------------------------------------------------------------------------------
    @property
    def on_changed(self) -> IEvent[EntityChange[E]]:
        """Every change readers can see, in order, with its source (local/server/rollback/resync)."""
        return self._entities.on_changed

    @property
    def on_update_not_applied(self) -> IEvent[UpdateNotAppliedException]:
        """An update the server answered without storing (a pm-server quirk): the store has rolled
        back to the server's copy (``exception.entity``); ``exception.dropped_fields`` names what
        was lost, so a UI can tell its user. The update itself raises the same exception."""
        return self._update_not_applied

    def get(self, entity_id: UUID) -> E | None:
        """The entity as readers see it, or None when unknown or deleted."""
        return self._entities.get(entity_id)

    @property
    def remembered_deletions(self) -> int:
        """Deleted ids still remembered: bounded by the map, whatever the server broadcasts."""
        return self._entities.remembered_deletions

    def is_pending(self, entity_id: UUID) -> bool:
        """True while a write to this entity is in flight (or queued behind another)."""
        return self._entities.is_pending(entity_id) or self._write_locks.is_locked(entity_id)

    # -- lifecycle ---------------------------------------------------------------------------
    def attach_resync(self, source: ResyncSource) -> None:
        """Apply every snapshot ``source`` resyncs: landed in slices (``land_snapshot``) when the
        source awaits landers (the reconnection service does), else at once from ``on_resynced``."""
        if isinstance(source, LandingResyncSource):
            source.add_lander(self.land_snapshot)
            self._landers.append((source, self.land_snapshot))
        else:
            self._listen(source.on_resynced, self.apply_snapshot)

    def close(self) -> None:
        """Stop listening to the client and to resync sources; the state stays readable."""
        for event, handler in self._subscriptions:
            event.unsubscribe(handler)
        self._subscriptions.clear()
        for source, lander in self._landers:
            source.remove_lander(lander)
        self._landers.clear()

    def __enter__(self) -> EntityStore[E]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- server state ------------------------------------------------------------------------
    def apply_snapshot(self, snapshot: ProjectSnapshot) -> list[EntityChange[E]]:
        """Make ``snapshot`` the truth for its project and report the differences (source "resync").

        The list is the whole truth (pm-server sends no tombstones), so what it lacks was deleted
        while we were away, except what the server told us about since the current connection
        opened: the list was fetched after that, so such news is at least as new as the list.
        So pass only lists fetched over the current connection (as the reconnection service does);
        ``load_project`` fetches one itself and needs no such care.
        """
        return self._entities.replace_project(
            snapshot.project_id,
            self._entities_of(snapshot),
            fresh_since=self._connected_mark,
            source="resync",
        )

    async def land_snapshot(self, snapshot: ProjectSnapshot) -> list[EntityChange[E]]:
        """``apply_snapshot`` in slices that hand the event loop back (see ``state/landing.py``):
        the same result, with broadcasts arriving meanwhile applied after it, in order."""
        return await land(
            self._entities,
            snapshot.project_id,
            self._entities_of(snapshot),
            fresh_since=self._connected_mark,
            source="resync",
            slicer=self._new_slicer(),
        )

    async def _load(self, project_id: UUID, fetch: Callable[[], Awaitable[list[E]]]) -> None:
        with self._entities.fetching() as mark:
            entities = await fetch()
        await land(
            self._entities,
            project_id,
            entities,
            fresh_since=max(mark, self._connected_mark),
            source="server",
            slicer=self._new_slicer(),
        )

    @abstractmethod
    def _entities_of(self, snapshot: ProjectSnapshot) -> Iterable[E]:
        """This store's part of a snapshot."""

    # -- optimistic writes -------------------------------------------------------------------
    async def _create(
        self, placeholder: E, matches: Callable[[E], bool], key: str, send: Callable[[str], Awaitable[E]]
    ) -> E:
        """Show ``placeholder``, send under the idempotency ``key``, confirm or roll back.

        A failure whose outcome is unknown carries ``key`` (``idempotency_key``): re-sending the
        create with it is answered from the server's idempotency store, never a second entity.
        """
        write = self._entities.begin_create(placeholder, matches)
        attempts = CreateAttempts(key, send)
        try:
            answer = await self._send(write, attempts)
        except ProjectManagementException as exc:
            if exc.idempotency_key is None:
                attempts.mark_if_uncertain(exc)
            raise
        self._entities.confirm(write, answer)
        return answer

    async def _update(
        self,
        entity_id: UUID,
        expected_version: int | None,
        apply: Callable[[E], E],
        send: Callable[[int], Awaitable[E]],
    ) -> E:
        async with self._write_locks.hold(entity_id):
            current = self._entities.confirmed(entity_id)
            version = self._resolve_version(entity_id, expected_version, current)
            if current is None:
                write = self._entities.begin_blind(entity_id)
            else:
                write = self._entities.begin_update(apply(current))
            try:
                answer = await self._send(write, lambda: send(version))
            except UpdateNotAppliedException as exc:
                # _send rolled the optimistic copy back; the answer is the server's truth now.
                self._entities.apply_server(cast(E, exc.entity))
                self._update_not_applied.emit(exc)
                raise
            self._entities.confirm(write, answer)
            return answer

    async def _delete(self, entity_id: UUID, send: Callable[[], Awaitable[None]]) -> None:
        async with self._write_locks.hold(entity_id):
            if self._entities.confirmed(entity_id) is None:
                write = self._entities.begin_blind(entity_id)
            else:
                write = self._entities.begin_delete(entity_id)
            await self._send(write, send)
            self._entities.confirm(write, None)

    async def _send(self, write: PendingWrite[E], send: Callable[[], Awaitable[T]]) -> T:
        """Await the request; on any failure, cancellation included, roll back and re-raise."""
        try:
            return await send()
        except BaseException:
            self._entities.rollback(write)
            raise

    @staticmethod
    def _resolve_version(entity_id: UUID, expected: int | None, current: E | None) -> int:
        """The caller's version if given (a stale one fails at once), else the store's copy's."""
        if expected is None:
            if current is None:
                raise ValidationException(
                    FieldError(
                        "expected_version",
                        f"{entity_id} is not in the store: load its project first or pass expected_version",
                    )
                )
            return current.version
        if current is not None and expected < current.version:
            # Versions only grow, so the server would answer CONFLICT: say so without sending.
            raise VersionConflictException(
                entity_id=entity_id, expected_version=expected, current_version=current.version
            )
        return expected

    # -- subscriptions -----------------------------------------------------------------------
    def _listen(self, event: IEvent[T], handler: Callable[[T], object]) -> None:
        event.subscribe(handler)
        self._subscriptions.append((event, handler))

    def _on_state_changed(self, change: ConnectionStateChange) -> None:
        if change.current is ConnectionState.CONNECTED:
            self._connected_mark = self._entities.mark()
            # Lists applied from now on are fetched over this connection, after every deletion
            # learned so far: those cannot come back (see VersionedEntityMap's forgetting rules).
            self._entities.forget_deletions(self._connected_mark)
