"""CircuitBreaker: stop calling a server that keeps failing, and probe carefully for its recovery.

States as the .NET design: Closed -> Open -> HalfOpen -> Closed, and HalfOpen -> Open on a failure.
See ``CircuitBreaker`` for the exact rules and ``classification`` for what counts as a failure.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final, TypeVar

from projectmanagement_core.exceptions import CircuitOpenException
from projectmanagement_services.clock import MonotonicClock, default_clock
from projectmanagement_services.events import Event
from projectmanagement_services.resilience.classification import is_breaker_failure
from projectmanagement_services.resilience.options import CircuitBreakerOptions
from projectmanagement_services.telemetry import PmTelemetry

__all__ = [
    "HALF_OPEN_RETRY_AFTER",
    "CircuitBreaker",
    "CircuitPermit",
    "CircuitState",
    "CircuitStateChange",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: What a call rejected in HalfOpen is told: a probe is running, its answer is usually near.
HALF_OPEN_RETRY_AFTER: Final = timedelta(milliseconds=100)


class CircuitState(StrEnum):
    """Breaker states; values read like the .NET enum in logs and metrics."""

    CLOSED = "Closed"
    OPEN = "Open"
    HALF_OPEN = "HalfOpen"


# Module constants: on Python 3.11 ``CircuitState.CLOSED`` costs a slow enum class-attribute
# lookup (~0.2 us), too much for the per-call path.
_CLOSED: Final = CircuitState.CLOSED
_OPEN: Final = CircuitState.OPEN
_HALF_OPEN: Final = CircuitState.HALF_OPEN


@dataclass(frozen=True, slots=True)
class CircuitStateChange:
    """One transition, as raised by ``on_state_changed``; ``error`` is the failure that caused it."""

    previous: CircuitState
    current: CircuitState
    error: BaseException | None = None


class CircuitPermit:
    """Admission ticket: ties a call's outcome to the state period in which it was admitted.

    All calls admitted in the same period share one (immutable) permit, so admitting a call
    allocates nothing. An outcome whose permit is no longer the breaker's current period is stale
    (the call straddled a transition) and is ignored: it describes a server the breaker has
    already judged, and it must not release a probe slot that now belongs to someone else.
    """

    __slots__ = ("state",)

    def __init__(self, state: CircuitState) -> None:
        self.state: Final = state

    def __repr__(self) -> str:
        return f"CircuitPermit({self.state.value}, id=0x{id(self):x})"


class CircuitBreaker:
    """A thread- and task-safe circuit breaker with a sliding failure window.

    Rules:

    * **Closed** admits every call. It opens when ``failure_threshold`` failures fall inside one
      ``failure_window`` (a true sliding window of failure timestamps; a failure exactly
      ``failure_window`` old still counts, an older one does not).
    * **A success in Closed does not erase failures** still inside the window (unlike the .NET
      design, which resets on success). Resetting would let a server that fails every other call
      stay Closed forever; the window already forgets old failures on its own. The price is that
      the threshold is an absolute count per window, so size it for the traffic.
    * **Open** rejects with ``CircuitOpenException(retry_after=<time left>)``. Once
      ``open_duration`` has passed it becomes HalfOpen, lazily, at the next look (``state``,
      ``allow_request()``, ``execute()``): no timer runs.
    * **HalfOpen** admits at most ``half_open_max_probes`` calls at once; the others are rejected
      with ``retry_after=HALF_OPEN_RETRY_AFTER``. ``half_open_success_threshold`` successes
      close it; any failure re-opens it for another ``open_duration``.
    * **A probe slot is released when its call ends by any path.** Cancellation, and errors that
      are not failures (``is_failure`` is false: validation, version conflict, a healthy server
      answer, exceptions this library does not know), release the slot and change nothing else:
      only a call that returns counts as a success.
    * ``isolate()`` holds the breaker Open (operators' kill switch) until ``reset()``.

    API: ``execute(operation)`` does everything (admit, run, record, release). For code that
    cannot hand over a coroutine, ``allow_request()`` is a check-and-reserve that must be followed
    by exactly one ``record_success()`` or ``record_failure(exc)``; without a permit those apply
    to the *current* state. ``acquire()`` returns a ``CircuitPermit`` to pass back to them when
    exact accounting matters (a call that may outlive a state change).

    Concurrency: one ``threading.Lock`` guards the state and is never held across an ``await``
    or while user code runs. Admission in Closed and a success admitted in Closed take no lock and
    allocate nothing (one attribute read each). ``on_state_changed`` handlers run outside the
    lock, in transition order.
    """

    def __init__(
        self,
        options: CircuitBreakerOptions | None = None,
        *,
        clock: MonotonicClock = default_clock,
        telemetry: PmTelemetry | None = None,
        name: str = "pm",
        is_failure: Callable[[BaseException], bool] = is_breaker_failure,
    ) -> None:
        self._options = options or CircuitBreakerOptions()
        self._clock = clock
        self._telemetry = telemetry or PmTelemetry.disabled()
        self.name = name
        self._is_failure = is_failure
        self._threshold = self._options.failure_threshold
        self._window = self._options.failure_window.total_seconds()
        self._open_duration = self._options.open_duration.total_seconds()
        self._max_probes = self._options.half_open_max_probes
        self._close_after = self._options.half_open_success_threshold

        self._lock = threading.Lock()
        self._period = CircuitPermit(_CLOSED)
        # Only the newest `threshold` timestamps can decide whether the window is full.
        self._failures: deque[float] = deque(maxlen=self._threshold)
        self._open_until = 0.0
        self._isolated = False
        self._probes = 0
        self._probe_successes = 0

        self._changes: deque[CircuitStateChange] = deque()
        self._emit_lock = threading.RLock()
        self.on_state_changed: Event[CircuitStateChange] = Event(f"{name}.on_state_changed")
        self._telemetry.observe_breaker(self)

    # -- read-only views -------------------------------------------------------------------

    @property
    def options(self) -> CircuitBreakerOptions:
        return self._options

    def update_options(self, options: CircuitBreakerOptions) -> None:
        """Apply new options live (settings reload), keeping the state and the calls in flight.

        The failures still inside the new ``failure_window`` keep counting (the newest
        ``failure_threshold`` of them: only those can decide), an Open period keeps the end it
        was given, and probes already admitted finish as they started; the new numbers decide
        from the next call on.
        """
        with self._lock:
            self._options = options
            self._threshold = options.failure_threshold
            self._window = options.failure_window.total_seconds()
            self._open_duration = options.open_duration.total_seconds()
            self._max_probes = options.half_open_max_probes
            self._close_after = options.half_open_success_threshold
            self._failures = deque(self._failures, maxlen=self._threshold)

    @property
    def state(self) -> CircuitState:
        """The current state; an Open breaker whose time is up becomes HalfOpen here."""
        state = self._period.state
        if state is not _OPEN:
            return state
        with self._lock:
            change = self._half_open_if_due(self._clock())
            state = self._period.state
        if change is not None:
            self._deliver()
        return state

    def peek_state(self) -> CircuitState:
        """The state ``state`` would report, without performing a due transition.

        For observers (the metrics gauge, each operation's span) that must not cause side effects
        such as events. Lock-free unless Open, like ``state``: telemetry reads it on every call.
        """
        state = self._period.state
        if state is not _OPEN:
            return state
        with self._lock:
            if self._period.state is _OPEN and self._open_is_over(self._clock()):
                return _HALF_OPEN
            return self._period.state

    @property
    def retry_after(self) -> timedelta | None:
        """Time left until probes are admitted; None unless Open. Isolated: ``open_duration``."""
        with self._lock:
            now = self._clock()
            change = self._half_open_if_due(now)
            left = self._open_time_left(now) if self._period.state is _OPEN else None
        if change is not None:
            self._deliver()
        return left

    @property
    def is_isolated(self) -> bool:
        return self._isolated

    @property
    def failure_count(self) -> int:
        """Failures inside the sliding window right now (Closed only; 0 in other states)."""
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._failures if now - t <= self._window)

    @property
    def probes_in_flight(self) -> int:
        """HalfOpen probe slots currently reserved (0 in other states)."""
        return self._probes

    # -- admission ---------------------------------------------------------------------------

    def acquire(self, *, operation_name: str | None = None) -> CircuitPermit:
        """Admit one call or raise ``CircuitOpenException``; in HalfOpen this reserves a probe slot.

        Follow with exactly one ``record_success(permit=...)`` or ``record_failure(exc,
        permit=...)``. ``operation_name`` labels a rejection in telemetry.
        """
        period = self._period
        if period.state is _CLOSED:  # lock-free: admitting in Closed changes nothing
            return period
        with self._lock:
            now = self._clock()
            change = self._half_open_if_due(now)
            period = self._period
            if period.state is _CLOSED:
                admitted = True
            elif period.state is _HALF_OPEN and self._probes < self._max_probes:
                self._probes += 1
                admitted = True
            else:
                admitted = False
                if period.state is _OPEN:
                    retry_after = self._open_time_left(now)
                else:
                    retry_after = min(HALF_OPEN_RETRY_AFTER, self._options.open_duration)
        if change is not None:
            self._deliver()
        if admitted:
            return period
        self._telemetry.record_circuit_rejection(operation_name)
        raise CircuitOpenException(retry_after, state=period.state.value)

    def allow_request(self, *, operation_name: str | None = None) -> bool:
        """Check-and-reserve: True admits one call (reserving a probe slot in HalfOpen).

        A True must be followed by exactly one ``record_success()`` or ``record_failure(exc)``.
        """
        try:
            self.acquire(operation_name=operation_name)
        except CircuitOpenException:
            return False
        return True

    # -- outcomes ----------------------------------------------------------------------------

    def record_success(self, *, permit: CircuitPermit | None = None) -> None:
        """One admitted call returned. Counts towards closing in HalfOpen; a no-op in Closed."""
        if (permit or self._period).state is not _HALF_OPEN:
            return  # Closed: successes erase nothing (see the class docstring); stale: ignored
        with self._lock:
            change = None
            if self._is_current(permit) and self._period.state is _HALF_OPEN:
                self._release_probe()
                self._probe_successes += 1
                if self._probe_successes >= self._close_after:
                    change = self._transition(_CLOSED, None)
        if change is not None:
            self._deliver()

    def record_failure(
        self, exc: BaseException | None = None, *, permit: CircuitPermit | None = None
    ) -> None:
        """One admitted call failed with ``exc`` (None: a failure with no exception to show).

        If ``exc`` is not a failure by the breaker's classification (validation, cancellation,
        ...), this only releases the call's probe slot.
        """
        counts = exc is None or self._is_failure(exc)
        with self._lock:
            if not self._is_current(permit):
                return  # the call straddled a transition: its outcome is stale
            state = self._period.state
            change = None
            if not counts:
                if state is _HALF_OPEN:
                    self._release_probe()
                return
            if state is _HALF_OPEN:
                self._release_probe()
                change = self._transition(_OPEN, exc)
            elif state is _CLOSED:
                now = self._clock()
                failures = self._failures
                failures.append(now)
                if len(failures) == self._threshold and now - failures[0] <= self._window:
                    change = self._transition(_OPEN, exc)
            # Open: the verdict is already in; late failures change nothing.
        if change is not None:
            self._deliver()

    # -- the all-in-one path -----------------------------------------------------------------

    async def execute(self, operation: Callable[[], Awaitable[T]], *, operation_name: str | None = None) -> T:
        """Run ``operation`` through the breaker; its result or exception passes through unchanged.

        Raises ``CircuitOpenException`` without calling ``operation`` when the breaker rejects.
        """
        permit = self._period
        if permit.state is not _CLOSED:  # the Closed fast path of acquire(), inlined
            permit = self.acquire(operation_name=operation_name)
        try:
            result = await operation()
        except BaseException as exc:  # cancellation included: it must release a probe slot
            self.record_failure(exc, permit=permit)
            raise
        if permit.state is _HALF_OPEN:  # Closed successes are no-ops: skip the call
            self.record_success(permit=permit)
        return result

    # -- operators ---------------------------------------------------------------------------

    def isolate(self) -> None:
        """Force Open and hold it there (no HalfOpen probing) until ``reset()``."""
        with self._lock:
            self._isolated = True
            change = None
            if self._period.state is not _OPEN:
                change = self._transition(_OPEN, None)
        if change is not None:
            self._deliver()

    def reset(self) -> None:
        """Back to Closed with an empty failure window; ends an isolation."""
        with self._lock:
            self._isolated = False
            self._failures.clear()
            change = None
            if self._period.state is not _CLOSED:
                change = self._transition(_CLOSED, None)
        if change is not None:
            self._deliver()

    # -- internals (callers hold self._lock unless said otherwise) ---------------------------

    def _is_current(self, permit: CircuitPermit | None) -> bool:
        return permit is None or permit is self._period

    def _release_probe(self) -> None:
        if self._probes > 0:  # clamped: an unpaired manual record must not drive it negative
            self._probes -= 1

    def _open_is_over(self, now: float) -> bool:
        return not self._isolated and now >= self._open_until

    def _open_time_left(self, now: float) -> timedelta:
        if self._isolated:
            return self._options.open_duration
        # Rounded up to whole microseconds: an Open breaker never says "retry after 0".
        return timedelta(microseconds=math.ceil(max(self._open_until - now, 0.0) * 1e6))

    def _half_open_if_due(self, now: float) -> CircuitStateChange | None:
        if self._period.state is _OPEN and self._open_is_over(now):
            return self._transition(_HALF_OPEN, None)
        return None

    def _transition(self, to: CircuitState, error: BaseException | None) -> CircuitStateChange:
        previous = self._period.state
        self._period = CircuitPermit(to)
        self._probes = 0
        self._probe_successes = 0
        self._failures.clear()
        if to is _OPEN:
            self._open_until = self._clock() + self._open_duration
        change = CircuitStateChange(previous, to, error)
        self._changes.append(change)  # delivered by _deliver() once the lock is released
        return change

    def _deliver(self) -> None:
        """Emit queued changes in transition order, outside the state lock (never call holding it)."""
        with self._emit_lock:
            while True:
                with self._lock:
                    if not self._changes:
                        return
                    change = self._changes.popleft()
                if change.current is _OPEN:
                    _log.warning(
                        "circuit %s opened (was %s): %r", self.name, change.previous.value, change.error
                    )
                else:
                    _log.info("circuit %s: %s -> %s", self.name, change.previous.value, change.current.value)
                self._telemetry.record_circuit_transition(change.previous, change.current)
                self.on_state_changed.emit(change)

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self._period.state.value}, isolated={self._isolated})"
