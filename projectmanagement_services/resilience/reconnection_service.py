"""ReconnectionService: bring a dropped client back, re-subscribe, and resync what was missed.

The client does not reconnect by itself: on an unexpected drop its state goes to Reconnecting and
this service takes over. It runs exactly one reconnect loop at a time (a task handle set under a
lock in the same step as the check, so two drops reported together cannot start two loops), waits
before each attempt (``backoff.compute_delay``: InitialDelay doubling by BackoffMultiplier, plus
0-25 % upward jitter, never above MaxDelay), and after a successful connect re-sends every
tracked subscription (subscriptions live on the connection and die with it) and fetches the full
work-item and sprint lists of each subscribed project. pm-server ignores ``since_timestamp``, so the
full list is the whole truth: the stores replace their copy with it and derive what changed. The
stores register as *landers* (``add_lander``): each snapshot is awaited through them, so they land
it in slices that hand the event loop back, and only then raised on ``on_resynced``.

pm-server rate-limits every frame (a burst, then one per period), so the re-subscribe and resync
run inside ``unbounded_rate_limit_wait()``: a resync larger than the fresh connection's burst paces
itself through the client's rate limiter instead of failing or getting the connection kicked. After
a rate-limit close (1008) the first attempt waits at least one (learned) period of the limiter,
capped at MaxDelay.

Unlike the .NET design, the backoff does not start over after every successful connect: it starts
over only once a connection has stayed up for ``ReconnectionOptions.stable_after``, so a server that
accepts and drops at once (flapping) is retried ever more slowly instead of at the shortest delay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from opentelemetry.trace import Status, StatusCode

from projectmanagement_core.exceptions import (
    ConnectionException,
    RateLimitClosedException,
    ResponseTooLargeException,
    ServerRejectedException,
)
from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import ConnectionState, ConnectionStateChange, ProjectSnapshot
from projectmanagement_services.clock import (
    MonotonicClock,
    RandomSource,
    SleepFunction,
    default_clock,
    default_random,
    default_sleep,
)
from projectmanagement_services.events import Event
from projectmanagement_services.resilience.backoff import compute_delay
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.resilience.options import JitterMode, ReconnectionOptions
from projectmanagement_services.resilience.rate_limiter import RateLimiter, unbounded_rate_limit_wait
from projectmanagement_services.telemetry import (
    ATTR_ERROR_TYPE,
    ATTR_PM_ATTEMPTS,
    ATTR_RESUBSCRIBED,
    ATTR_RESYNCED_ITEMS,
    PmTelemetry,
    error_type,
)
from projectmanagement_services.websocket.connection import HandshakeRejectedException

__all__ = [
    "OUTCOME_FAILURE",
    "OUTCOME_SUCCESS",
    "ReconnectScheduled",
    "ReconnectionResult",
    "ReconnectionService",
    "TrackedSubscriptions",
]

_log = logging.getLogger(__name__)

#: ``outcome`` of ``pm.reconnection.attempts`` and of the span's attempt events.
OUTCOME_SUCCESS: Final = "success"
OUTCOME_FAILURE: Final = "failure"


@dataclass(frozen=True, slots=True)
class TrackedSubscriptions:
    """What will be re-sent after a reconnect: each id once, in the order first tracked."""

    project_ids: tuple[UUID, ...] = ()
    sprint_ids: tuple[UUID, ...] = ()

    def __len__(self) -> int:
        return len(self.project_ids) + len(self.sprint_ids)


@dataclass(frozen=True, slots=True)
class ReconnectScheduled:
    """Raised by ``on_reconnect_scheduled`` before each attempt's wait: which attempt, and how long."""

    attempt: int
    delay_seconds: float


@dataclass(frozen=True, slots=True)
class ReconnectionResult:
    """How one outage ended: raised by ``on_reconnected``.

    ``snapshots`` hold the server's whole truth per resynced project (the same values
    ``on_resynced`` raised); an entity missing from a snapshot was deleted while the client was away.
    """

    attempts: int
    resubscribed: int
    snapshots: tuple[ProjectSnapshot, ...]
    outage_seconds: float
    rejected_subscriptions: tuple[UUID, ...] = ()

    @property
    def resynced_projects(self) -> tuple[UUID, ...]:
        return tuple(s.project_id for s in self.snapshots)

    @property
    def resynced_items(self) -> int:
        """Work items and sprints fetched in all."""
        return sum(len(s.work_items) + len(s.sprints) for s in self.snapshots)


class ReconnectionService:
    """Watches ``client.on_state_changed`` and reconnects on Reconnecting (design.md section 5).

    Events: ``on_reconnecting(attempt)`` before each attempt's delay (``on_reconnect_scheduled``
    says the delay too, for a user who wants to see the wait), ``on_resynced(snapshot)`` per
    project after a reconnect, then ``on_reconnected(result)``; ``on_reconnect_failed(exc)`` after
    ``max_attempts`` failed attempts, or at once when ``connect()`` fails with an error that is not
    transient (a handshake refused with 401: waiting will not fix it); the client is then
    disconnected. A local ``disconnect()`` or ``aclose()`` of the client stops a running loop
    quietly (no ``on_reconnect_failed``).
    """

    def __init__(
        self,
        client: IWebSocketClient,
        options: ReconnectionOptions | None = None,
        *,
        clock: MonotonicClock = default_clock,
        sleep: SleepFunction = default_sleep,
        random: RandomSource = default_random,
        telemetry: PmTelemetry | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._client = client
        self._rate_limiter = rate_limiter
        self._options = options or ReconnectionOptions()
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._telemetry = telemetry or PmTelemetry.disabled()
        self.on_reconnecting: Event[int] = Event("on_reconnecting")
        self.on_reconnect_scheduled: Event[ReconnectScheduled] = Event("on_reconnect_scheduled")
        self.on_resynced: Event[ProjectSnapshot] = Event("on_resynced")
        self.on_reconnected: Event[ReconnectionResult] = Event("on_reconnected")
        self.on_reconnect_failed: Event[ConnectionException] = Event("on_reconnect_failed")
        # Ordered sets (dict keys): de-duplicated, first-tracked order kept for a stable re-send.
        self._projects: dict[UUID, None] = {}
        self._sprints: dict[UUID, None] = {}
        self._guard = threading.Lock()  # guards _task and the tracking dicts; never held across await
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._step = 0  # attempts into the backoff schedule; survives outages until a stable connection
        self._connected_at: float | None = None
        self._landers: tuple[Callable[[ProjectSnapshot], Awaitable[object]], ...] = ()
        client.on_state_changed.subscribe(self._on_state_changed)

    # -- landers ---------------------------------------------------------------------------------
    def add_lander(self, lander: Callable[[ProjectSnapshot], Awaitable[object]]) -> None:
        """Await ``lander(snapshot)`` for every resynced project before raising ``on_resynced``.

        A store lands a 10,000-item snapshot in slices that hand the loop back; as a plain
        ``on_resynced`` handler it could only land it in one go. A lander that raises is logged
        and does not fail the reconnect; its cancellation (the loop's) propagates.
        """
        self._landers = (*self._landers, lander)

    def remove_lander(self, lander: Callable[[ProjectSnapshot], Awaitable[object]]) -> None:
        """Stop awaiting ``lander``; one not added is ignored."""
        self._landers = tuple(x for x in self._landers if x != lander)

    # -- tracking --------------------------------------------------------------------------------
    def track_subscription(self, project_ids: Iterable[UUID], sprint_ids: Iterable[UUID] = ()) -> None:
        """Remember a subscription so it is re-sent after every reconnect (idempotent)."""
        with self._guard:
            self._projects.update(dict.fromkeys(project_ids))
            self._sprints.update(dict.fromkeys(sprint_ids))

    def untrack_subscription(self, project_ids: Iterable[UUID], sprint_ids: Iterable[UUID] = ()) -> None:
        """Forget a subscription; ids not tracked are ignored."""
        with self._guard:
            for project_id in project_ids:
                self._projects.pop(project_id, None)
            for sprint_id in sprint_ids:
                self._sprints.pop(sprint_id, None)

    @property
    def tracked_subscriptions(self) -> TrackedSubscriptions:
        """A snapshot: later tracking does not change the returned value."""
        with self._guard:
            return TrackedSubscriptions(tuple(self._projects), tuple(self._sprints))

    # -- state -----------------------------------------------------------------------------------
    @property
    def is_reconnecting(self) -> bool:
        """True while a reconnect loop runs."""
        task = self._task
        return task is not None and not task.done()

    @property
    def options(self) -> ReconnectionOptions:
        return self._options

    def update_options(self, options: ReconnectionOptions) -> None:
        """Apply new options live (settings reload), also to a reconnect loop already running:
        its next delay and its attempt limit are the new ones; the position in the backoff
        schedule is kept."""
        self._options = options

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter whose period a reconnect after a rate-limit close waits out (None: none)."""
        return self._rate_limiter

    async def wait_idle(self) -> None:
        """Wait until no reconnect loop runs (returns at once when none does)."""
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task})

    async def aclose(self) -> None:
        """Stop watching the client and cancel a running loop; returns once it has ended."""
        self._closed = True
        self._client.on_state_changed.unsubscribe(self._on_state_changed)
        with self._guard:
            task, self._task = self._task, None
        if task is None or task.done() or task is asyncio.current_task():
            return
        task.cancel()
        await asyncio.wait({task})

    async def __aenter__(self) -> ReconnectionService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- reacting to the client ----------------------------------------------------------------
    def _on_state_changed(self, change: ConnectionStateChange) -> None:
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # raised from another thread: hop onto the loop we know, if any
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._on_state_changed, change)
            return
        self._loop = loop
        if change.current is ConnectionState.CONNECTED:
            self._connected_at = self._clock()
        running = self._task
        if running is not None and running is asyncio.current_task():
            return  # raised by our own connect/disconnect: the loop already knows
        if change.current is ConnectionState.RECONNECTING:
            self._start_loop(loop, change)
        elif change.current in (ConnectionState.DISCONNECTED, ConnectionState.CLOSED):
            self._stop_loop()  # a local disconnect/close: the caller does not want us to reconnect

    def _start_loop(self, loop: asyncio.AbstractEventLoop, change: ConnectionStateChange) -> None:
        with self._guard:  # check and set in one step: concurrent drops start one loop
            running = self._task
            if running is not None and not running.done() and not running.cancelling():
                return
            now = self._clock()
            if self._connected_at is None or now - self._connected_at >= self._stable_after():
                self._step = 0
            task = loop.create_task(self._run(change, now), name="pm-reconnect")
            self._task = task
        task.add_done_callback(_log_unexpected_failure)

    def _stop_loop(self) -> None:
        """Cancel a running loop; the handle stays so that ``wait_idle()`` can see it end."""
        with self._guard:
            task = self._task
        if task is not None and not task.done():
            task.cancel()

    def _stable_after(self) -> float:
        return self._options.stable_after.total_seconds()

    # -- the loop --------------------------------------------------------------------------------
    def _next_delay(self, cause: BaseException | None = None) -> float:
        """Delay before the next attempt (the shared pure schedule), and advance the schedule.

        After a rate-limit close: at least the limiter's (learned) period, capped at MaxDelay.
        """
        options = self._options
        self._step += 1
        delay = compute_delay(
            self._step,
            initial=options.initial_delay.total_seconds(),
            max_delay=options.max_delay.total_seconds(),
            multiplier=options.backoff_multiplier,
            jitter=JitterMode.PROPORTIONAL,
            random=self._random,
        )
        if isinstance(cause, RateLimitClosedException) and self._rate_limiter is not None:
            polite = min(self._rate_limiter.reconnect_delay(), options.max_delay.total_seconds())
            delay = max(delay, polite)
        return delay

    async def _run(self, change: ConnectionStateChange, started: float) -> None:
        telemetry = self._telemetry
        with telemetry.start_reconnect_span() as span:
            last_error: BaseException | None = change.error
            attempt = 0
            # The limit is read per attempt: a settings reload may change it mid-outage.
            while (max_attempts := self._options.max_attempts) is None or attempt < max_attempts:
                attempt += 1
                delay = self._next_delay(change.error if attempt == 1 else None)
                self.on_reconnecting.emit(attempt)
                if len(self.on_reconnect_scheduled):
                    self.on_reconnect_scheduled.emit(ReconnectScheduled(attempt, delay))
                await self._sleep(delay)
                try:
                    result = await self._attempt(attempt, started)
                except _DecisiveRefusal as refusal:
                    telemetry.record_reconnect_attempt(OUTCOME_FAILURE, attempt)
                    last_error = refusal.__cause__
                    _log.warning("reconnect refused for good: %s", last_error)
                    break
                except Exception as exc:
                    telemetry.record_reconnect_attempt(OUTCOME_FAILURE, attempt)
                    last_error = exc
                    _log.info("reconnect attempt %d failed: %s", attempt, exc)
                    continue
                telemetry.record_reconnect_attempt(OUTCOME_SUCCESS, attempt)
                if span.is_recording():
                    span.set_attribute(ATTR_PM_ATTEMPTS, attempt)
                    span.set_attribute(ATTR_RESUBSCRIBED, result.resubscribed)
                    span.set_attribute(ATTR_RESYNCED_ITEMS, result.resynced_items)
                _log.info("reconnected after %d attempt(s)", attempt)
                self.on_reconnected.emit(result)
                return
            error = self._failure(attempt, last_error)
            if span.is_recording():
                span.set_attribute(ATTR_PM_ATTEMPTS, attempt)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                if last_error is not None:
                    span.set_attribute(ATTR_ERROR_TYPE, error_type(last_error))
        await self._give_up(error)

    async def _attempt(self, attempt: int, started: float) -> ReconnectionResult:
        if self._client.state is not ConnectionState.CONNECTED:
            try:
                await self._client.connect()
            except Exception as exc:
                if _is_decisive_refusal(exc):  # e.g. HTTP 401: the same handshake will never pass
                    raise _DecisiveRefusal() from exc
                raise
        tracked = self.tracked_subscriptions
        with unbounded_rate_limit_wait():  # a resync beyond the burst paces itself, never fails fast
            rejected = await self._resubscribe(tracked)
            accepted = [p for p in tracked.project_ids if p not in rejected]
            snapshots = [await self._fetch(project_id) for project_id in accepted]
        snapshots_kept = tuple(s for s in snapshots if s is not None)
        for snapshot in snapshots_kept:
            await self._land(snapshot)
            self.on_resynced.emit(snapshot)
        if self._client.state is not ConnectionState.CONNECTED:
            # Dropped while the stores landed (they hand the loop back): the drop found this loop
            # running and started none, so this attempt must not end it.
            raise ConnectionException("the connection dropped while the resync landed")
        return ReconnectionResult(
            attempts=attempt,
            resubscribed=len(tracked) - len(rejected),
            snapshots=snapshots_kept,
            outage_seconds=self._clock() - started,
            rejected_subscriptions=tuple(rejected),
        )

    async def _resubscribe(self, tracked: TrackedSubscriptions) -> list[UUID]:
        """Re-send the tracked subscriptions in one message; on a refusal, one at a time.

        One message keeps the rate limiter happy; the fallback makes sure one project the user lost
        access to does not block the others. Returns the ids the server refused.
        """
        if not len(tracked):
            return []
        try:
            await self._client.subscribe(tracked.project_ids, tracked.sprint_ids)
        except ServerRejectedException as exc:
            if exc.is_transient:
                raise
            _log.warning("re-subscribe refused (%s): retrying id by id", exc.code)
        else:
            return []
        rejected: list[UUID] = []
        for project_ids, sprint_ids in _one_by_one(tracked):
            try:
                await self._client.subscribe(project_ids, sprint_ids)
            except ServerRejectedException as exc:
                if exc.is_transient:
                    raise
                rejected.extend((*project_ids, *sprint_ids))
                _log.warning("re-subscribe of %s refused: %s", (*project_ids, *sprint_ids), exc.code)
        return rejected

    async def _fetch(self, project_id: UUID) -> ProjectSnapshot | None:
        """The full lists of one project, or None when the server refuses them (not transient) or
        a list exceeds MaxMessageSize (pm-server sends a project's list in one frame of any size:
        asking again would get the same answer, and failing the attempt would end, after
        MaxAttempts, in disconnecting a client whose connection is fine)."""
        as_of = datetime.now(UTC)  # a timestamp, not a duration: the wall clock is right here
        try:
            work_items = await self._client.get_work_items(project_id)
            sprints = await self._client.get_sprints(project_id)
        except ServerRejectedException as exc:
            if exc.is_transient:
                raise
            _log.warning("resync of project %s refused: %s", project_id, exc.code)
            return None
        except ResponseTooLargeException as exc:
            _log.error("resync of project %s skipped, raise %s: %s", project_id, exc.OPTION, exc)
            return None
        return ProjectSnapshot(
            project_id=project_id, work_items=tuple(work_items), sprints=tuple(sprints), as_of=as_of
        )

    async def _land(self, snapshot: ProjectSnapshot) -> None:
        for lander in self._landers:
            try:
                await lander(snapshot)
            except Exception:
                _log.exception("lander %r failed on the resync of project %s", lander, snapshot.project_id)

    @staticmethod
    def _failure(attempts: int, last_error: BaseException | None) -> ConnectionException:
        error = ConnectionException(f"reconnect gave up after {attempts} attempt(s)")
        error.__cause__ = last_error
        return error

    async def _give_up(self, error: ConnectionException) -> None:
        _log.warning("%s: %r", error, error.__cause__)
        try:
            await self._client.disconnect()
        except Exception:
            _log.exception("disconnect after giving up failed")
        self.on_reconnect_failed.emit(error)


class _DecisiveRefusal(Exception):
    """A connect failure that waiting will not fix; its ``__cause__`` is the client's error."""


#: Handshake statuses that do mean "later" although they are 4xx.
_RETRYABLE_CLIENT_STATUSES: Final = frozenset({408, 429})


def _is_decisive_refusal(exc: BaseException) -> bool:
    """A connect failure that waiting will not fix: not transient, or a handshake refused with 4xx."""
    if isinstance(exc, HandshakeRejectedException):
        status = exc.status_code
        return 400 <= status < 500 and status not in _RETRYABLE_CLIENT_STATUSES
    return not is_transient(exc)


def _one_by_one(tracked: TrackedSubscriptions) -> Iterable[tuple[Sequence[UUID], Sequence[UUID]]]:
    for project_id in tracked.project_ids:
        yield (project_id,), ()
    for sprint_id in tracked.sprint_ids:
        yield (), (sprint_id,)


def _log_unexpected_failure(task: asyncio.Task[None]) -> None:
    """Retrieve a loop's exception so it is logged here, never as 'exception was never retrieved'."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        _log.error("reconnect loop failed unexpectedly", exc_info=exc)
