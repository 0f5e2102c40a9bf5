"""SprintStore: the client-side sprints of the loaded projects (implements ISprintStore).

Unlike the .NET store, which changed a sprint's status locally only, ``start``, ``complete`` and
``delete`` are server writes (an update of the status, a DeleteSprint) with the same optimistic
show-then-confirm-or-roll-back behaviour as every other write, so other clients see them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from uuid import UUID, uuid4

from projectmanagement_core.applied_changes import holds_text
from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import (
    CreateSprintRequest,
    ProjectSnapshot,
    Sprint,
    SprintStatus,
    UpdateSprintRequest,
)
from projectmanagement_core.validation import validate_request
from projectmanagement_services.resilience.idempotency import creation_key
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.state.entity_store import EntityStore

__all__ = ["SprintStore"]

_NIL = UUID(int=0)


class SprintStore(EntityStore[Sprint]):
    """Sprints kept in step with the server through broadcasts, answers and resyncs.

    Subscribes to the client's sprint broadcasts on construction; ``close()`` unsubscribes. As
    with WorkItemStore, project subscriptions are the client's business and a create is shown
    as a placeholder with a temporary id until the server's sprint replaces it.
    """

    def __init__(
        self,
        client: IWebSocketClient,
        *,
        utc_now: Callable[[], datetime] = lambda: datetime.now(UTC),
        slicer: Callable[[], TimeSlicer] = TimeSlicer,
    ) -> None:
        super().__init__(client, "SprintStore", slicer=slicer)
        self._utc_now = utc_now
        self._listen(client.on_sprint_created, lambda e: self._entities.apply_broadcast(e.sprint))
        self._listen(client.on_sprint_updated, lambda e: self._entities.apply_broadcast(e.sprint))
        self._listen(client.on_sprint_deleted, lambda e: self._entities.apply_broadcast_deletion(e.sprint_id))

    # -- reads -------------------------------------------------------------------------------
    def get_by_project(self, project_id: UUID) -> list[Sprint]:
        """Non-deleted sprints of a project, ordered by start date."""
        sprints = self._entities.select(lambda s: s.project_id == project_id)
        return sorted(sprints, key=lambda s: (s.start_date, s.end_date, s.name, str(s.id)))

    def get_active(self, project_id: UUID) -> Sprint | None:
        """The project's Active sprint (the earliest-starting one, should the server allow several)."""
        active = [s for s in self.get_by_project(project_id) if s.status is SprintStatus.ACTIVE]
        return active[0] if active else None

    # -- server state ------------------------------------------------------------------------
    async def load_project(self, project_id: UUID) -> list[Sprint]:
        """Fetch the project's sprints and make them the store's truth; returns what readers now see."""
        await self._load(project_id, lambda: self._client.get_sprints(project_id))
        return self.get_by_project(project_id)

    def _entities_of(self, snapshot: ProjectSnapshot) -> Iterable[Sprint]:
        return snapshot.sprints

    # -- writes ------------------------------------------------------------------------------
    async def create(self, request: CreateSprintRequest, *, idempotency_key: str | None = None) -> Sprint:
        """Create on the server; a placeholder is visible until the server's sprint replaces it.

        ``idempotency_key``: the id of this create (new when None); a failure whose outcome is
        unknown carries it, and re-sending with it never makes a second sprint.
        """
        validate_request(request)
        now = self._utc_now()
        placeholder = Sprint(
            id=uuid4(),
            project_id=request.project_id,
            name=request.name,
            goal=request.goal,
            start_date=request.start_date,
            end_date=request.end_date,
            status=SprintStatus.PLANNED,
            version=0,
            created_at=now,
            updated_at=now,
            created_by=_NIL,
            updated_by=_NIL,
        )

        def matches(sprint: Sprint) -> bool:
            return (
                sprint.project_id == request.project_id
                and holds_text(sprint.name, request.name)  # pm-server stores text trimmed
                and holds_text(sprint.goal, request.goal)
                and sprint.start_date == request.start_date
                and sprint.end_date == request.end_date
            )

        return await self._create(
            placeholder,
            matches,
            creation_key(idempotency_key),
            lambda key: self._client.create_sprint(request, message_id=key),
        )

    async def update(self, request: UpdateSprintRequest) -> Sprint:
        """Update optimistically; ``expected_version`` None means the store's current copy's version."""
        validate_request(request)
        changes = request.changed_fields()
        return await self._update(
            request.sprint_id,
            request.expected_version,
            lambda current: current.model_copy(update=changes),
            lambda version: self._client.update_sprint(
                request.model_copy(update={"expected_version": version})
            ),
        )

    async def start(self, sprint_id: UUID) -> Sprint:
        """Planned -> Active, on the server (the server enforces the lifecycle)."""
        return await self.update(UpdateSprintRequest(sprint_id=sprint_id, status=SprintStatus.ACTIVE))

    async def complete(self, sprint_id: UUID) -> Sprint:
        """Active -> Completed, on the server."""
        return await self.update(UpdateSprintRequest(sprint_id=sprint_id, status=SprintStatus.COMPLETED))

    async def delete(self, sprint_id: UUID) -> None:
        """Delete optimistically: hidden at once, shown again if the server refuses."""
        await self._delete(sprint_id, lambda: self._client.delete_sprint(sprint_id))
