"""ResilientWebSocketClient: every operation through the circuit breaker and the retry policy.

Composition as the .NET design (design.md section 5): ``breaker.execute(retry.execute(inner.op))``,
so the breaker sees one call per logical operation however many attempts the retry made. State,
health and broadcast events are the inner client's; connect/disconnect/aclose pass through.

Beyond the .NET design, retries are idempotent: one logical operation keeps one ``message_id``
across all its attempts, so the server answers a re-sent create from its idempotency store instead
of creating a second item. A retried update that answers CONFLICT, or a retried delete that answers
NOT_FOUND, after an earlier attempt whose answer may have been lost, is checked against the server's
current copy: the update is returned if the entity already holds the requested change, the delete
is done; otherwise the conflict is raised (see ``idempotency``).

That id is also the caller's: every create accepts ``idempotency_key=`` (sent as the message_id),
and a create that fails after an attempt whose outcome is unknown raises its usual exception with
``idempotency_key`` set, so the caller can re-send it later, with that key, without a duplicate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel

from projectmanagement_core.exceptions import ProjectManagementException, VersionConflictException
from projectmanagement_core.interfaces import IConnectionHealth, IEvent, IWebSocketClient
from projectmanagement_core.models import (
    ActivityLogEntry,
    ConnectionState,
    ConnectionStateChange,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    Project,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    Sprint,
    SprintCreated,
    SprintDeleted,
    SprintUpdated,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemUpdated,
)
from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker
from projectmanagement_services.resilience.idempotency import (
    CreateAttempts,
    answer_may_be_lost,
    creation_key,
    holds_requested_change,
    is_not_found,
    new_message_id,
)
from projectmanagement_services.resilience.reconnection_service import ReconnectionService
from projectmanagement_services.resilience.retry_policy import RetryPolicy
from projectmanagement_services.telemetry import PmTelemetry

__all__ = ["ResilientWebSocketClient"]

T = TypeVar("T")
E = TypeVar("E", bound=BaseModel)


class ResilientWebSocketClient:
    """An ``IWebSocketClient`` that retries transient failures and stops calling a failing server.

    Args:
        inner: the client that talks to the server (``WebSocketClient``).
        breaker: sees one call per logical operation.
        retry: the attempts of one operation; stateless, may be shared.
        reconnection: when given, subscriptions made here are tracked in it (re-sent after a
            reconnect) and ``aclose()`` closes it.
        telemetry: spans and metrics of design.md section 8; disabled when None.
    """

    def __init__(
        self,
        inner: IWebSocketClient,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        *,
        reconnection: ReconnectionService | None = None,
        telemetry: PmTelemetry | None = None,
    ) -> None:
        self._inner = inner
        self._breaker = breaker
        self._retry = retry
        self._reconnection = reconnection
        self._telemetry = telemetry or PmTelemetry.disabled()
        self._traced = self._telemetry.enabled

    # -- composition -------------------------------------------------------------------------
    @property
    def inner(self) -> IWebSocketClient:
        return self._inner

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    @property
    def reconnection(self) -> ReconnectionService | None:
        return self._reconnection

    async def _create(self, operation: str, key: str, send: Callable[[str], Awaitable[T]]) -> T:
        """A create under the idempotency ``key``: all attempts send it; a failure after any attempt
        whose answer may have been lost carries it (``ProjectManagementException.idempotency_key``)."""
        attempts = CreateAttempts(key, send)
        try:
            return await self._execute(operation, attempts)
        except ProjectManagementException as exc:
            attempts.mark_if_uncertain(exc)
            raise

    async def _execute(self, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """One logical operation: a span around breaker(retry(attempt)).

        The success path is benchmarked: with telemetry disabled, or on no-op providers that can
        never record (``PmTelemetry.enabled`` is False), no span context is entered at all.
        """
        retry = self._retry

        def retried() -> Awaitable[T]:
            return retry.execute(attempt, operation_name=operation)

        if self._traced:
            with self._telemetry.start_operation_span(operation, circuit=self._breaker):
                return await self._breaker.execute(retried, operation_name=operation)
        return await self._breaker.execute(retried, operation_name=operation)

    # -- state and events (the inner client's) -----------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._inner.state

    @property
    def health(self) -> IConnectionHealth:
        return self._inner.health

    @property
    def on_state_changed(self) -> IEvent[ConnectionStateChange]:
        return self._inner.on_state_changed

    @property
    def on_work_item_created(self) -> IEvent[WorkItemCreated]:
        return self._inner.on_work_item_created

    @property
    def on_work_item_updated(self) -> IEvent[WorkItemUpdated]:
        return self._inner.on_work_item_updated

    @property
    def on_work_item_deleted(self) -> IEvent[WorkItemDeleted]:
        return self._inner.on_work_item_deleted

    @property
    def on_sprint_created(self) -> IEvent[SprintCreated]:
        return self._inner.on_sprint_created

    @property
    def on_sprint_updated(self) -> IEvent[SprintUpdated]:
        return self._inner.on_sprint_updated

    @property
    def on_sprint_deleted(self) -> IEvent[SprintDeleted]:
        return self._inner.on_sprint_deleted

    @property
    def on_project_created(self) -> IEvent[ProjectCreated]:
        return self._inner.on_project_created

    @property
    def on_project_updated(self) -> IEvent[ProjectUpdated]:
        return self._inner.on_project_updated

    @property
    def on_project_deleted(self) -> IEvent[ProjectDeleted]:
        return self._inner.on_project_deleted

    @property
    def on_activity_logged(self) -> IEvent[ActivityLogEntry]:
        return self._inner.on_activity_logged

    @property
    def on_warning(self) -> IEvent[str]:
        return self._inner.on_warning

    # -- lifecycle (pass-through) --------------------------------------------------------------
    async def connect(self) -> None:
        await self._inner.connect()

    async def disconnect(self) -> None:
        await self._inner.disconnect()

    async def aclose(self) -> None:
        """Close the reconnection service (no loop may outlive the client), then the client."""
        if self._reconnection is not None:
            await self._reconnection.aclose()
        await self._inner.aclose()

    async def __aenter__(self) -> ResilientWebSocketClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- subscriptions -------------------------------------------------------------------------
    async def subscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        """Subscribe, and track the subscription so it is re-sent after every reconnect."""
        mid = message_id or new_message_id()
        inner = self._inner
        await self._execute("Subscribe", lambda: inner.subscribe(project_ids, sprint_ids, message_id=mid))
        if self._reconnection is not None:
            self._reconnection.track_subscription(project_ids, sprint_ids)

    async def unsubscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        """Stop tracking first: even if the request fails, a reconnect must not bring it back."""
        if self._reconnection is not None:
            self._reconnection.untrack_subscription(project_ids, sprint_ids)
        mid = message_id or new_message_id()
        inner = self._inner
        await self._execute("Unsubscribe", lambda: inner.unsubscribe(project_ids, sprint_ids, message_id=mid))

    # -- work items ----------------------------------------------------------------------------
    async def create_work_item(
        self,
        request: CreateWorkItemRequest,
        *,
        message_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> WorkItem:
        """Every attempt sends the same id (``idempotency_key``, else ``message_id``, else a new
        one): the server answers a repeat from its store. See ``_create`` for failures."""
        inner = self._inner
        return await self._create(
            "CreateWorkItem",
            creation_key(idempotency_key, message_id),
            lambda key: inner.create_work_item(request, message_id=key),
        )

    async def update_work_item(
        self, request: UpdateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem:
        mid = message_id or new_message_id()
        inner = self._inner

        def send() -> Awaitable[WorkItem]:
            return inner.update_work_item(request, message_id=mid)

        async def current() -> WorkItem | None:
            return await self._find_work_item(request.work_item_id)

        return await self._execute(
            "UpdateWorkItem", _UpdateAttempts(send, current, request, request.expected_version)
        )

    async def delete_work_item(self, work_item_id: UUID, *, message_id: str | None = None) -> None:
        mid = message_id or new_message_id()
        inner = self._inner
        await self._execute(
            "DeleteWorkItem", _DeleteAttempts(lambda: inner.delete_work_item(work_item_id, message_id=mid))
        )

    async def get_work_items(
        self, project_id: UUID, *, since: datetime | None = None, message_id: str | None = None
    ) -> list[WorkItem]:
        mid = message_id or new_message_id()
        inner = self._inner
        return await self._execute(
            "GetWorkItems", lambda: inner.get_work_items(project_id, since=since, message_id=mid)
        )

    # -- sprints -------------------------------------------------------------------------------
    async def create_sprint(
        self,
        request: CreateSprintRequest,
        *,
        message_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Sprint:
        """As ``create_work_item``: one id for all attempts, carried by an uncertain failure."""
        inner = self._inner
        return await self._create(
            "CreateSprint",
            creation_key(idempotency_key, message_id),
            lambda key: inner.create_sprint(request, message_id=key),
        )

    async def update_sprint(self, request: UpdateSprintRequest, *, message_id: str | None = None) -> Sprint:
        mid = message_id or new_message_id()
        inner = self._inner

        def send() -> Awaitable[Sprint]:
            return inner.update_sprint(request, message_id=mid)

        async def current() -> Sprint | None:
            return await self._find_sprint(request.sprint_id)

        return await self._execute(
            "UpdateSprint", _UpdateAttempts(send, current, request, request.expected_version)
        )

    async def delete_sprint(self, sprint_id: UUID, *, message_id: str | None = None) -> None:
        mid = message_id or new_message_id()
        inner = self._inner
        await self._execute(
            "DeleteSprint", _DeleteAttempts(lambda: inner.delete_sprint(sprint_id, message_id=mid))
        )

    async def get_sprints(self, project_id: UUID, *, message_id: str | None = None) -> list[Sprint]:
        mid = message_id or new_message_id()
        inner = self._inner
        return await self._execute("GetSprints", lambda: inner.get_sprints(project_id, message_id=mid))

    # -- projects ------------------------------------------------------------------------------
    async def create_project(
        self,
        request: CreateProjectRequest,
        *,
        message_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Project:
        """As ``create_work_item``: one id for all attempts, carried by an uncertain failure."""
        inner = self._inner
        return await self._create(
            "CreateProject",
            creation_key(idempotency_key, message_id),
            lambda key: inner.create_project(request, message_id=key),
        )

    async def update_project(
        self, request: UpdateProjectRequest, *, message_id: str | None = None
    ) -> Project:
        mid = message_id or new_message_id()
        inner = self._inner

        def send() -> Awaitable[Project]:
            return inner.update_project(request, message_id=mid)

        async def current() -> Project | None:
            return _by_id(await inner.list_projects(), request.project_id)

        return await self._execute(
            "UpdateProject", _UpdateAttempts(send, current, request, request.expected_version)
        )

    async def delete_project(
        self, project_id: UUID, expected_version: int, *, message_id: str | None = None
    ) -> None:
        mid = message_id or new_message_id()
        inner = self._inner
        await self._execute(
            "DeleteProject",
            _DeleteAttempts(lambda: inner.delete_project(project_id, expected_version, message_id=mid)),
        )

    async def list_projects(self, *, message_id: str | None = None) -> list[Project]:
        mid = message_id or new_message_id()
        inner = self._inner
        return await self._execute("ListProjects", lambda: inner.list_projects(message_id=mid))

    # -- heartbeat -----------------------------------------------------------------------------
    async def ping(self) -> timedelta:
        """Through the breaker but not retried: a retried ping would measure the backoff, not the link."""
        if self._traced:
            with self._telemetry.start_operation_span("Ping", circuit=self._breaker):
                return await self._breaker.execute(self._inner.ping, operation_name="Ping")
        return await self._breaker.execute(self._inner.ping, operation_name="Ping")

    # -- finding an entity after an ambiguous answer -------------------------------------------
    async def _find_work_item(self, work_item_id: UUID) -> WorkItem | None:
        return await self._find_in_projects(self._inner.get_work_items, work_item_id)

    async def _find_sprint(self, sprint_id: UUID) -> Sprint | None:
        return await self._find_in_projects(self._inner.get_sprints, sprint_id)

    async def _find_in_projects(
        self, fetch: Callable[[UUID], Awaitable[list[E]]], entity_id: UUID
    ) -> E | None:
        """Look for an entity project by project: the subscribed ones first, then the others.

        Update and delete requests carry no project id. This runs only on the rare path of an
        ambiguous answer after a lost one, never on a success.
        """
        tracked = self._reconnection.tracked_subscriptions.project_ids if self._reconnection else ()
        for project_id in tracked:
            if (found := _by_id(await fetch(project_id), entity_id)) is not None:
                return found
        for project in await self._inner.list_projects():
            if project.id in tracked:
                continue
            if (found := _by_id(await fetch(project.id), entity_id)) is not None:
                return found
        return None

    def __repr__(self) -> str:
        return f"ResilientWebSocketClient({self._inner!r}, breaker={self._breaker!r})"


class _UpdateAttempts(Generic[E]):
    """The attempts of one update: CONFLICT after a possibly-lost answer is checked, not trusted.

    Called once per attempt by the retry policy. Remembers across attempts whether an earlier
    one may have been applied without us hearing the answer.
    """

    __slots__ = ("_current", "_expected", "_maybe_applied", "_request", "_send")

    def __init__(
        self,
        send: Callable[[], Awaitable[E]],
        current: Callable[[], Awaitable[E | None]],
        request: BaseModel,
        expected_version: int | None,
    ) -> None:
        self._send = send
        self._current = current
        self._request = request
        self._expected = expected_version
        self._maybe_applied = False

    async def __call__(self) -> E:
        try:
            return await self._send()
        except VersionConflictException:
            if not self._maybe_applied:
                raise  # a first-hand conflict: someone else changed it
            entity = await self._current()
            if entity is not None and holds_requested_change(entity, self._request, self._expected):
                return entity
            raise
        except BaseException as exc:
            if answer_may_be_lost(exc):
                self._maybe_applied = True
            raise


class _DeleteAttempts:
    """The attempts of one delete: NOT_FOUND after a possibly-lost answer means it was ours."""

    __slots__ = ("_maybe_applied", "_send")

    def __init__(self, send: Callable[[], Awaitable[None]]) -> None:
        self._send = send
        self._maybe_applied = False

    async def __call__(self) -> None:
        try:
            await self._send()
        except BaseException as exc:
            if self._maybe_applied and is_not_found(exc):
                return
            if answer_may_be_lost(exc):
                self._maybe_applied = True
            raise


def _by_id(entities: Sequence[E], entity_id: UUID) -> E | None:
    for entity in entities:
        if getattr(entity, "id", None) == entity_id:
            return entity
    return None


if TYPE_CHECKING:

    def _implements_the_interface(client: ResilientWebSocketClient) -> IWebSocketClient:
        """mypy proves here that the resilient client is a drop-in ``IWebSocketClient``."""
        return client
