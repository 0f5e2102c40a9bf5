"""WebSocketClient: one pm-ws connection with correlated requests, heartbeat and clean failure.

As the .NET ``WebSocketClient``. The client itself never reconnects: on an unexpected drop it moves
to Reconnecting, fails every pending request at once with ``ConnectionException`` and raises
``on_state_changed``; the ``ReconnectionService`` watches that event and calls ``connect()`` again
on this same object (it works from Disconnected and Reconnecting alike). Keeping the loop outside
lets the resilience layer own backoff, resubscription and resync in one place.

Layers: ``FrameCodec`` (sans-I/O bytes <-> events), ``PendingRequests`` (correlation, timeouts,
backpressure), ``WebSocketConnection`` (the one adapter over ``websockets``; nothing here touches a
``websockets`` exception), and this class, which routes events and owns the lifecycle.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from uuid import UUID

from google.protobuf.message import Message

from projectmanagement_core import converters
from projectmanagement_core.applied_changes import require_applied
from projectmanagement_core.exceptions import (
    ConnectionException,
    FieldError,
    ProjectManagementException,
    RateLimitClosedException,
    ResponseTooLargeException,
    ValidationException,
    exception_from_error,
)
from projectmanagement_core.interfaces import IWebSocketClient
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
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_core.validation import parse_uuid, validate_request
from projectmanagement_services.clock import MonotonicClock, SleepFunction, default_clock, default_sleep
from projectmanagement_services.events import Event
from projectmanagement_services.websocket.connection import (
    ConnectionFactory,
    WebSocketConnection,
    open_websocket,
)
from projectmanagement_services.websocket.connection_state import IllegalTransitionError, is_legal_transition
from projectmanagement_services.websocket.drop_log import DropLog
from projectmanagement_services.websocket.entity_lists import convert_entities_sliced
from projectmanagement_services.websocket.event_slot import EventSlot
from projectmanagement_services.websocket.health import ConnectionHealthTracker
from projectmanagement_services.websocket.instrumentation import WebSocketInstrumentation
from projectmanagement_services.websocket.options import LIVE_OPTIONS, WebSocketOptions
from projectmanagement_services.websocket.pending_requests import PendingRequests
from projectmanagement_services.websocket.protocol import (
    Ack,
    Answer,
    Broadcast,
    ErrorAnswer,
    FrameCodec,
    MalformedFrame,
    OutgoingFrame,
    Oversized,
    Pong,
    TextFrame,
    UnknownPayload,
)
from projectmanagement_services.websocket.send_gate import SendGate, is_rate_limit_warning

__all__ = [
    "DROP_LATE_ANSWER",
    "DROP_MALFORMED",
    "DROP_MALFORMED_ENTITY",
    "DROP_OVERSIZED",
    "DROP_UNKNOWN",
    "DROP_UNSUBSCRIBED",
    "WebSocketClient",
]

_log = logging.getLogger(__name__)

DROP_MALFORMED: Final = "malformed"
DROP_OVERSIZED: Final = "oversized"
DROP_UNKNOWN: Final = "unknown"
DROP_LATE_ANSWER: Final = "late_answer"
DROP_MALFORMED_ENTITY: Final = "malformed_entity"
DROP_UNSUBSCRIBED: Final = "unsubscribed"
#: Entity broadcasts pm-server sends only to a project's subscribers (broadcast_to_project); the
#: deletions carry no project and cannot be checked here (the stores bound their tombstones).
_PROJECT_SCOPED: Final = frozenset(
    {"work_item_created", "work_item_updated", "sprint_created", "sprint_updated"}
)
_INT32_MAX: Final = 2**31 - 1

_S = ConnectionState
_M = TypeVar("_M", bound=Message)
_W = TypeVar("_W", bound=Message)
_T = TypeVar("_T")
_Reply = Answer | ErrorAnswer | Ack | Pong


#: Frames the read loop handles back to back before it lets other tasks and timers run.
_FRAMES_PER_YIELD: Final = 32


class WebSocketClient:
    """A pm-ws client over one connection, implementing ``IWebSocketClient``.

    Args:
        options: where and how to connect, timeouts and limits.
        health: the tracker to write to (shared with a UI); a new one by default.
        clock: monotonic seconds for the heartbeat and round-trip times.
        sleep: the heartbeat's and request timeouts' timer (tests inject a fake one).
        wall_clock: Unix seconds for envelope timestamps (the wire wants wall time).
        connection_factory: opens a ``WebSocketConnection`` (the transport seam); ``websockets`` by
            default.
        telemetry: optional hook for dropped frames and round-trip times.
        rate_limiter: paces every frame sent (pm-server limits each connection's frames); a
            request waits for its slot within ``RequestTimeout`` or fails fast with
            ``RateLimitExceededException``; a heartbeat ping is skipped when no slot is free.
            None: frames go out unpaced.
    """

    # Events (as .NET events): ``client.on_x += handler`` or ``client.on_x.subscribe(handler)``.
    on_state_changed = EventSlot[ConnectionStateChange]()
    on_work_item_created = EventSlot[WorkItemCreated]()
    on_work_item_updated = EventSlot[WorkItemUpdated]()
    on_work_item_deleted = EventSlot[WorkItemDeleted]()
    on_sprint_created = EventSlot[SprintCreated]()
    on_sprint_updated = EventSlot[SprintUpdated]()
    on_sprint_deleted = EventSlot[SprintDeleted]()
    on_project_created = EventSlot[ProjectCreated]()
    on_project_updated = EventSlot[ProjectUpdated]()
    on_project_deleted = EventSlot[ProjectDeleted]()
    on_activity_logged = EventSlot[ActivityLogEntry]()
    on_warning = EventSlot[str]()

    def __init__(
        self,
        options: WebSocketOptions,
        *,
        health: ConnectionHealthTracker | None = None,
        clock: MonotonicClock = default_clock,
        sleep: SleepFunction = default_sleep,
        wall_clock: Callable[[], float] = time.time,
        connection_factory: ConnectionFactory | None = None,
        telemetry: WebSocketInstrumentation | None = None,
        rate_limiter: SendGate | None = None,
    ) -> None:
        self._options = options
        self._health = health if health is not None else ConnectionHealthTracker(clock=clock)
        self._clock = clock
        self._sleep = sleep
        self._factory: ConnectionFactory = connection_factory or open_websocket
        self._telemetry = telemetry
        self._gate = rate_limiter
        self._codec = FrameCodec(options.max_message_size, wall_clock=wall_clock)
        self._pending: PendingRequests[_Reply] = PendingRequests(
            options.max_pending_requests, sleep=sleep, on_count_changed=self._health.set_pending_requests
        )
        self._state = _S.DISCONNECTED
        self._conn: WebSocketConnection | None = None
        self._lifecycle = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected_at = 0.0
        self._next_ping_at = -math.inf
        self._heartbeat: asyncio.Task[None] | None = None
        self._drops = DropLog(_log, clock=clock)
        self._text_log = DropLog(_log, clock=clock)
        # Projects subscribed on the current connection (pm-server forgets them on a drop).
        self._subscribed: set[UUID] = set()
        self._warnings_received = 0
        self._pings_skipped = 0

        self._broadcast_events: dict[str, Event[Any]] = {
            "work_item_created": self.on_work_item_created,
            "work_item_updated": self.on_work_item_updated,
            "work_item_deleted": self.on_work_item_deleted,
            "sprint_created": self.on_sprint_created,
            "sprint_updated": self.on_sprint_updated,
            "sprint_deleted": self.on_sprint_deleted,
            "project_created": self.on_project_created,
            "project_updated": self.on_project_updated,
            "project_deleted": self.on_project_deleted,
            "activity_log_created": self.on_activity_logged,
        }

    # ------------------------------------------------------------------ state and events

    @property
    def options(self) -> WebSocketOptions:
        return self._options

    def update_options(self, options: WebSocketOptions) -> None:
        """Apply the timeouts and heartbeat of ``options`` live (``LIVE_OPTIONS``); keep the rest.

        The connection and every pending request stay as they are: a request already waiting
        keeps the timeout it started with, the next ones use the new one, and a running heartbeat
        restarts at once on the new interval and timeout (its silence clock is kept). The
        address, identity and limits (``server_url``, ``auth_token``...) need a new client.
        Call it on the client's event loop.
        """
        self._options = self._options.model_copy(
            update={name: getattr(options, name) for name in LIVE_OPTIONS}
        )
        heartbeat, conn = self._heartbeat, self._conn
        if heartbeat is not None and not heartbeat.done() and conn is not None:
            heartbeat.cancel()
            self._heartbeat = self._spawn(self._heartbeat_loop(conn), "pm-ws heartbeat")

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def health(self) -> ConnectionHealthTracker:
        return self._health

    @property
    def pending_count(self) -> int:
        """Requests in the correlation map right now (0 after every disconnect)."""
        return len(self._pending)

    @property
    def frames_dropped(self) -> Mapping[str, int]:
        """Received frames (and list entries) dropped, by reason: malformed, oversized, unknown,
        late_answer, unsubscribed, malformed_entity. Live view; every drop counts, only the log is
        rate-limited."""
        return self._drops.counts

    @property
    def subscribed_projects(self) -> frozenset[UUID]:
        """Projects subscribed on the current connection; entity broadcasts of others are dropped."""
        return frozenset(self._subscribed)

    @property
    def warnings_received(self) -> int:
        """Text frames (rate-limit warnings) received since construction."""
        return self._warnings_received

    @property
    def rate_limiter(self) -> SendGate | None:
        """What paces this client's frames (None: nothing does)."""
        return self._gate

    @property
    def heartbeat_pings_skipped(self) -> int:
        """Heartbeat pings not sent because the rate limiter had no free slot at the time."""
        return self._pings_skipped

    def __repr__(self) -> str:
        return f"WebSocketClient(url={self._options.server_url!r}, state={self._state})"

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Open the connection (again). Works from Disconnected and Reconnecting.

        A failure returns the state to where it started (Disconnected or Reconnecting) and raises.
        Already connected: nothing happens.

        Raises:
            ConnectionException: the connection could not be opened, or the client is closed.
        """
        async with self._lifecycle:
            if self._state is _S.CLOSED:
                raise ConnectionException("the client is closed")
            if self._state is _S.CONNECTED:
                return
            origin = self._state
            await self._drain_tasks()
            if origin is _S.RECONNECTING:
                self._health.record_reconnect_attempt()
            self._transition(_S.CONNECTING)
            try:
                conn = await self._factory(self._options)
            except BaseException as exc:
                self._transition(origin, exc if isinstance(exc, Exception) else None)
                raise
            self._conn = conn
            self._subscribed.clear()
            self._connected_at = self._clock()
            self._next_ping_at = -math.inf
            if self._gate is not None:
                self._gate.reset()
            self._health.mark_connected()
            self._spawn(self._read_loop(conn), "pm-ws reader")
            self._heartbeat = self._spawn(self._heartbeat_loop(conn), "pm-ws heartbeat")
            self._transition(_S.CONNECTED)
            _log.info("connected to %s", self._options.server_url)

    async def disconnect(self) -> None:
        """Close locally: state Disconnected, pending requests fail, no reconnection."""
        async with self._lifecycle:
            if self._state in (_S.DISCONNECTED, _S.CLOSED):
                return
            await self._shutdown(_S.DISCONNECTED, "disconnected locally")

    async def aclose(self) -> None:
        """Close for good: state Closed, no reconnection, the client cannot be reused."""
        async with self._lifecycle:
            if self._state is _S.CLOSED:
                return
            await self._shutdown(_S.CLOSED, "the client is closed")

    async def __aenter__(self) -> WebSocketClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _shutdown(self, target: ConnectionState, reason: str) -> None:
        conn, self._conn = self._conn, None
        self._pending.fail_all(lambda: ConnectionException(reason))
        if conn is not None:
            self._health.mark_disconnected()
        self._transition(target)
        for task in self._tasks:
            task.cancel()
        await self._drain_tasks()
        if conn is not None:
            await conn.close()

    def _connection_lost(self, conn: WebSocketConnection, error: ConnectionException) -> None:
        """The link is gone (Close frame, reset, heartbeat timeout, failed send): fail fast, report."""
        if conn is not self._conn:
            return  # already handled, or closed locally
        self._conn = None
        self._subscribed.clear()
        conn.abort()
        if isinstance(error, RateLimitClosedException) and self._gate is not None:
            self._gate.record_close()
        self._health.mark_disconnected()
        failed = self._pending.fail_all(lambda: _lost(error))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        _log.warning("connection lost (%s); %d pending request(s) failed", error, failed)
        self._transition(_S.RECONNECTING, error)

    def _transition(self, new: ConnectionState, error: BaseException | None = None) -> None:
        previous = self._state
        if not is_legal_transition(previous, new):
            raise IllegalTransitionError(previous, new)
        self._state = new
        self.on_state_changed.emit(ConnectionStateChange(previous, new, error))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _drain_tasks(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ receiving

    async def _read_loop(self, conn: WebSocketConnection) -> None:
        handled = 0
        while True:
            try:
                data = await conn.recv()
            except ConnectionException as exc:
                self._connection_lost(conn, exc)
                return
            self._health.record_received()
            try:
                self._handle_frame(data)
            except Exception:  # a bug in routing must not kill the connection
                _log.exception("failed to handle a received frame")
            # recv() returns without suspending while frames are buffered, so under a flood this
            # loop would keep the event loop to itself: timers (RequestTimeout, the heartbeat) and
            # other tasks would wait for the flood to end. One yield per batch keeps their promises
            # without a loop round trip on every answer of the hot path.
            handled += 1
            if handled % _FRAMES_PER_YIELD == 0:
                await asyncio.sleep(0)

    def _handle_frame(self, data: bytes | str) -> None:
        event = self._codec.decode(data, is_awaited=self._pending.is_ours)
        if isinstance(event, Answer | ErrorAnswer | Ack | Pong):
            if not self._pending.resolve(event.message_id, event):
                self._drop(
                    DROP_LATE_ANSWER,
                    logging.INFO,
                    "dropped a late or unsolicited answer (message_id %.64s)",
                    event.message_id,
                )
        elif isinstance(event, Broadcast):
            if event.kind in _PROJECT_SCOPED and _project_of(event.model) not in self._subscribed:
                self._drop(
                    DROP_UNSUBSCRIBED,
                    logging.WARNING,
                    "dropped a %s broadcast for project %s, which this connection is not subscribed to",
                    event.kind,
                    _project_of(event.model),
                )
                return
            self._broadcast_events[event.kind].emit(event.model)
        elif isinstance(event, TextFrame):
            self._warnings_received += 1
            # Text frames are not dropped, but a server can send them at any rate: same log bound.
            self._text_log.record("server_warning", logging.WARNING, "server warning: %.200s", event.text)
            if self._gate is not None and is_rate_limit_warning(event.text):
                self._gate.record_refusal()
            self.on_warning.emit(event.text)
        elif isinstance(event, UnknownPayload):
            what = event.name or list(event.field_numbers)
            self._drop(DROP_UNKNOWN, logging.DEBUG, "ignored unknown payload %s", what)
        elif isinstance(event, MalformedFrame):
            self._drop(
                DROP_MALFORMED,
                logging.WARNING,
                "dropped a malformed frame of %d bytes: %s",
                event.size,
                event.reason,
            )
        elif isinstance(event, Oversized):
            self._oversized(event)

    def _oversized(self, event: Oversized) -> None:
        """Drop the frame; if its head names one of our requests, fail that request now."""
        message_id = event.message_id
        operation = None if message_id is None else self._pending.operation_of(message_id)
        self._drop(
            DROP_OVERSIZED,
            logging.WARNING,
            "dropped an oversized frame: %d bytes > MaxMessageSize %d (answer to %s)",
            event.size,
            event.limit,
            operation or "no pending request",
        )
        if message_id is not None and operation is not None:
            error = ResponseTooLargeException(operation, event.size, event.limit, message_id)
            self._pending.reject(message_id, error)

    def _drop(self, reason: str, level: int, message: str, *args: object) -> None:
        """Count a drop (always) and log it (at a bounded rate per reason, see DropLog)."""
        self._drops.record(reason, level, message, *args)
        if self._telemetry is not None:
            self._telemetry.record_frame_dropped(reason)

    async def _entities(self, kind: str, messages: Sequence[_W], convert: Callable[[_W], _T]) -> list[_T]:
        """A list answer's entities; a malformed one is skipped, counted and logged with its id.

        One entity with an impossible value (stored by a peer through a server that does not
        validate) must not make the whole list, and so every resync of its project, fail.
        """

        def dropped(entity_id: str, error: ValidationException) -> None:
            self._drop(
                DROP_MALFORMED_ENTITY,
                logging.WARNING,
                "skipped a malformed %s (id %s) in a list answer: %s",
                kind,
                entity_id,
                error,
            )

        # A long list (a resync) converts in slices that hand the loop back (issue 15).
        return await convert_entities_sliced(messages, convert, dropped)

    # ------------------------------------------------------------------ heartbeat

    async def _heartbeat_loop(self, conn: WebSocketConnection) -> None:
        """Ping only after ``HeartbeatInterval`` of silence (at most one per interval); declare the
        link dead after ``HeartbeatTimeout`` of silence. Any received frame counts as life."""
        interval = self._options.heartbeat_interval.total_seconds()
        timeout = self._options.heartbeat_timeout.total_seconds()
        while self._conn is conn:
            now = self._clock()
            last_received = self._health.last_message_received
            last_traffic = max(self._connected_at, last_received if last_received is not None else -math.inf)
            idle = now - last_traffic
            if idle >= timeout:
                error = ConnectionException(f"heartbeat timeout: nothing received for {idle:.3f} s")
                self._connection_lost(conn, error)
                return
            if idle >= interval and now >= self._next_ping_at:
                if self._gate is None or self._gate.try_acquire():
                    self._next_ping_at = now + interval
                    self._spawn(self._heartbeat_ping(), "pm-ws heartbeat ping")
                else:  # no free slot: skip rather than queue, and look again when one frees up
                    self._pings_skipped += 1
                    self._next_ping_at = now + max(self._gate.seconds_until_available(), 1e-3)
            until_ping = interval - idle if idle < interval else self._next_ping_at - now
            await self._sleep(max(min(timeout - idle, until_ping), 0.0))

    async def _heartbeat_ping(self) -> None:
        try:
            await self._ping(paced=False)  # its slot was taken by the heartbeat loop
        except ProjectManagementException as exc:  # the heartbeat loop decides about liveness
            _log.debug("heartbeat ping failed: %s", exc)

    # ------------------------------------------------------------------ requests

    def _require_connection(self) -> WebSocketConnection:
        conn = self._conn
        if conn is None or self._state is not _S.CONNECTED:
            raise ConnectionException(f"not connected (state {self._state})")
        return conn

    async def _exchange(
        self, operation: str, frame: OutgoingFrame, *, paced: bool = True
    ) -> tuple[_Reply, float]:
        """Send one request and await its reply; returns the reply and the monotonic send time.

        With a rate limiter the frame first waits for its send slot (bounded by RequestTimeout);
        the answer then gets a RequestTimeout of its own, counted from the send.
        """
        self._require_connection()
        if paced and self._gate is not None:
            # Before registering: a drop while waiting must not fail a request that was never sent.
            await self._gate.acquire(operation, self._options.request_timeout)
        async with self._pending.track(frame.message_id, operation) as call:
            conn = self._require_connection()  # the link may have dropped while waiting for a slot
            sent_at = self._clock()
            try:
                await conn.send(frame.data)
            except ConnectionException as exc:
                self._connection_lost(conn, exc)
                raise
            self._health.record_sent()
            reply = await call.wait(self._options.request_timeout)
        return reply, sent_at

    async def _call(
        self,
        operation: str,
        payload_name: str,
        payload: Message,
        answer_type: type[_M],
        message_id: str | None,
        *,
        entity_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> _M:
        frame = self._codec.encode(payload_name, payload, message_id=message_id)
        reply, _ = await self._exchange(operation, frame)
        if isinstance(reply, ErrorAnswer):
            raise exception_from_error(reply.error, entity_id=entity_id, expected_version=expected_version)
        if isinstance(reply, Answer) and isinstance(reply.message, answer_type):
            return reply.message
        raise _unexpected(operation, reply)

    async def _acknowledged(
        self, operation: str, payload_name: str, payload: Message, message_id: str | None
    ) -> None:
        frame = self._codec.encode(payload_name, payload, message_id=message_id)
        reply, _ = await self._exchange(operation, frame)
        if isinstance(reply, ErrorAnswer):
            raise exception_from_error(reply.error)
        if not isinstance(reply, Ack):
            raise _unexpected(operation, reply)

    async def ping(self) -> timedelta:
        """Send an app-level Ping and return the round-trip time (also recorded in ``health``)."""
        return await self._ping(paced=True)

    async def _ping(self, *, paced: bool) -> timedelta:
        frame = self._codec.encode_ping()
        reply, sent_at = await self._exchange("Ping", frame, paced=paced)
        if isinstance(reply, ErrorAnswer):
            raise exception_from_error(reply.error)
        if not isinstance(reply, Pong):
            raise _unexpected("Ping", reply)
        rtt = max(self._clock() - sent_at, 0.0)
        self._health.record_latency(rtt)
        if self._telemetry is not None:
            self._telemetry.record_rtt(rtt)
        return timedelta(seconds=rtt)

    # ------------------------------------------------------------------ subscriptions

    async def subscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        """Subscribe to broadcasts; returns once the server acknowledged. Lost on any reconnect."""
        payload = pb.Subscribe(
            project_ids=_uuid_strs(project_ids, "project_ids"),
            sprint_ids=_uuid_strs(sprint_ids, "sprint_ids"),
        )
        # Counted as subscribed from the send on: the server broadcasts right after its ack, and
        # those frames are routed before this coroutine resumes.
        added = {UUID(p) for p in payload.project_ids} - self._subscribed
        self._subscribed |= added
        try:
            await self._acknowledged("Subscribe", "subscribe", payload, message_id)
        except ProjectManagementException:
            self._subscribed -= added
            raise

    async def unsubscribe(
        self, project_ids: Sequence[UUID], sprint_ids: Sequence[UUID] = (), *, message_id: str | None = None
    ) -> None:
        payload = pb.Unsubscribe(
            project_ids=_uuid_strs(project_ids, "project_ids"),
            sprint_ids=_uuid_strs(sprint_ids, "sprint_ids"),
        )
        await self._acknowledged("Unsubscribe", "unsubscribe", payload, message_id)
        self._subscribed -= {UUID(p) for p in payload.project_ids}

    # ------------------------------------------------------------------ work items

    async def create_work_item(
        self, request: CreateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem:
        validate_request(request)
        payload = converters.create_work_item_request_to_proto(request)
        answer = await self._call(
            "CreateWorkItem", "create_work_item_request", payload, pb.WorkItemCreated, message_id
        )
        return converters.work_item_from_proto(answer.work_item)

    async def update_work_item(
        self, request: UpdateWorkItemRequest, *, message_id: str | None = None
    ) -> WorkItem:
        validate_request(request)
        payload = converters.update_work_item_request_to_proto(request)
        answer = await self._call(
            "UpdateWorkItem",
            "update_work_item_request",
            payload,
            pb.WorkItemUpdated,
            message_id,
            entity_id=request.work_item_id,
            expected_version=request.expected_version,
        )
        item = converters.work_item_from_proto(answer.work_item)
        require_applied("UpdateWorkItem", request, item)
        return item

    async def delete_work_item(self, work_item_id: UUID, *, message_id: str | None = None) -> None:
        payload = pb.DeleteWorkItemRequest(work_item_id=_uuid_str(work_item_id, "work_item_id"))
        await self._call(
            "DeleteWorkItem",
            "delete_work_item_request",
            payload,
            pb.WorkItemDeleted,
            message_id,
            entity_id=work_item_id,
        )

    async def get_work_items(
        self, project_id: UUID, *, since: datetime | None = None, message_id: str | None = None
    ) -> list[WorkItem]:
        """All non-deleted items of a project (pm-server ignores ``since``: the list is the whole truth)."""
        payload = pb.GetWorkItemsRequest(project_id=_uuid_str(project_id, "project_id"))
        if since is not None:
            payload.since_timestamp = converters.datetime_to_wire(since)
        answer = await self._call(
            "GetWorkItems", "get_work_items_request", payload, pb.WorkItemsList, message_id
        )
        return await self._entities("work_item", answer.work_items, converters.work_item_from_proto)

    # ------------------------------------------------------------------ sprints

    async def create_sprint(self, request: CreateSprintRequest, *, message_id: str | None = None) -> Sprint:
        validate_request(request)
        payload = converters.create_sprint_request_to_proto(request)
        answer = await self._call(
            "CreateSprint", "create_sprint_request", payload, pb.SprintCreated, message_id
        )
        return converters.sprint_from_proto(answer.sprint)

    async def update_sprint(self, request: UpdateSprintRequest, *, message_id: str | None = None) -> Sprint:
        validate_request(request)
        payload = converters.update_sprint_request_to_proto(request)
        answer = await self._call(
            "UpdateSprint",
            "update_sprint_request",
            payload,
            pb.SprintUpdated,
            message_id,
            entity_id=request.sprint_id,
            expected_version=request.expected_version,
        )
        sprint = converters.sprint_from_proto(answer.sprint)
        require_applied("UpdateSprint", request, sprint)
        return sprint

    async def delete_sprint(self, sprint_id: UUID, *, message_id: str | None = None) -> None:
        payload = pb.DeleteSprintRequest(sprint_id=_uuid_str(sprint_id, "sprint_id"))
        await self._call(
            "DeleteSprint",
            "delete_sprint_request",
            payload,
            pb.SprintDeleted,
            message_id,
            entity_id=sprint_id,
        )

    async def get_sprints(self, project_id: UUID, *, message_id: str | None = None) -> list[Sprint]:
        payload = pb.GetSprintsRequest(project_id=_uuid_str(project_id, "project_id"))
        answer = await self._call("GetSprints", "get_sprints_request", payload, pb.SprintsList, message_id)
        return await self._entities("sprint", answer.sprints, converters.sprint_from_proto)

    # ------------------------------------------------------------------ projects

    async def create_project(
        self, request: CreateProjectRequest, *, message_id: str | None = None
    ) -> Project:
        validate_request(request)
        payload = converters.create_project_request_to_proto(request)
        answer = await self._call(
            "CreateProject", "create_project_request", payload, pb.ProjectCreated, message_id
        )
        return converters.project_from_proto(answer.project)

    async def update_project(
        self, request: UpdateProjectRequest, *, message_id: str | None = None
    ) -> Project:
        validate_request(request)
        payload = converters.update_project_request_to_proto(request)
        answer = await self._call(
            "UpdateProject",
            "update_project_request",
            payload,
            pb.ProjectUpdated,
            message_id,
            entity_id=request.project_id,
            expected_version=request.expected_version,
        )
        project = converters.project_from_proto(answer.project)
        require_applied("UpdateProject", request, project)
        return project

    async def delete_project(
        self, project_id: UUID, expected_version: int, *, message_id: str | None = None
    ) -> None:
        payload = pb.DeleteProjectRequest(
            project_id=_uuid_str(project_id, "project_id"),
            expected_version=_version(expected_version),
        )
        await self._call(
            "DeleteProject",
            "delete_project_request",
            payload,
            pb.ProjectDeleted,
            message_id,
            entity_id=project_id,
            expected_version=expected_version,
        )

    async def list_projects(self, *, message_id: str | None = None) -> list[Project]:
        answer = await self._call(
            "ListProjects", "list_projects_request", pb.ListProjectsRequest(), pb.ProjectList, message_id
        )
        return await self._entities("project", answer.projects, converters.project_from_proto)


# ------------------------------------------------------------------ helpers


def _lost(error: ConnectionException) -> ConnectionException:
    """A fresh exception per failed caller (of the same kind), chained to the cause of the drop."""
    exc: ConnectionException
    if isinstance(error, RateLimitClosedException):
        exc = RateLimitClosedException(error.reason, close_code=error.close_code or 1008)
    else:
        exc = ConnectionException(str(error).removesuffix(_close_suffix(error)), close_code=error.close_code)
    exc.__cause__ = error
    return exc


def _close_suffix(error: ConnectionException) -> str:
    return f" (close code {error.close_code})" if error.close_code is not None else ""


def _unexpected(operation: str, reply: _Reply) -> ProjectManagementException:
    name = reply.name if isinstance(reply, Answer) else type(reply).__name__
    return ProjectManagementException(f"{operation}: unexpected answer {name!r} from the server")


def _uuid_str(value: UUID, field: str) -> str:
    """A request id as the wire wants it (canonical: pm-server matches subscriptions as strings);
    anything its UUID parser would refuse fails before sending."""
    if isinstance(value, UUID):
        return str(value)
    try:
        return str(parse_uuid(str(value)))
    except ValueError:
        raise ValidationException(FieldError(field, f"not a UUID: {value!r}")) from None


def _version(value: int) -> int:
    """An ``expected_version`` as the wire wants it (int32, >= 1); anything else fails before sending."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _INT32_MAX:
        raise ValidationException(
            FieldError("expected_version", f"must be between 1 and {_INT32_MAX} (got {value!r})")
        )
    return value


def _project_of(model: object) -> UUID | None:
    """The project of a work-item or sprint broadcast."""
    entity = getattr(model, "work_item", None) or getattr(model, "sprint", None)
    project_id = getattr(entity, "project_id", None)
    return project_id if isinstance(project_id, UUID) else None


def _uuid_strs(values: Sequence[UUID], field: str) -> list[str]:
    return [_uuid_str(v, field) for v in values]


if TYPE_CHECKING:

    def _implements_the_interface(client: WebSocketClient) -> IWebSocketClient:
        """mypy proves here that ``WebSocketClient`` matches ``IWebSocketClient`` member for member."""
        return client
