"""pm-server's own circuit breaker (``pm-ws/src/circuit_breaker.rs``), bugs included.

Upstream wraps every database operation of a handler (``db_read``/``db_write``) in one process-wide
breaker with ``CircuitBreakerConfig::default()``: 5 failures open it, 30 s open, 3 half-open
successes close it, failures counted in a 60 s window (pm-config's ``[circuit_breaker]`` section
exists but ``main.rs`` never passes it on). What upstream counts and does, and this module copies:

- Closed: any successful database operation resets the failure count to 0; a failed one adds 1,
  after resetting the count if the previous failure is more than the window ago (whole wall-clock
  seconds). Failures include UNAUTHORIZED from the membership check, which upstream runs inside
  ``db_read``: **an upstream bug**, because a client asking for a project it is not a member of
  trips the breaker for everybody.
- Open: every database operation fails with SERVICE_UNAVAILABLE "Service temporarily unavailable.
  Retry after N seconds". Upstream measures the open time with ``Instant::now().elapsed()``, which is
  always zero, so N is always the full open duration and the breaker **never leaves Open** until the
  process restarts: a second upstream bug, reproduced unless ``stuck_open=False``.
- HalfOpen (only reachable with ``stuck_open=False``): every request passes; successes close it at the
  threshold; one failure re-opens it.

The reference server's handlers are not split into database operations, so :func:`breaker_effects`
maps a request's kind and outcome to the operations upstream's handler would have recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

__all__ = [
    "SERVICE_UNAVAILABLE_MESSAGE",
    "ServerBreakerSettings",
    "ServerBreakerState",
    "ServerCircuitBreaker",
    "breaker_effects",
    "uses_database",
]

#: pm-ws's ``WsError::ServiceUnavailable`` text; ``{seconds}`` is the retry-after.
SERVICE_UNAVAILABLE_MESSAGE: Final = "Service temporarily unavailable. Retry after {seconds} seconds"

Effect = Literal["success", "failure"]

#: Requests whose handler touches no database operation (never refused by an open breaker).
_NO_DATABASE: Final = frozenset({"ping", "subscribe", "unsubscribe"})
#: Handlers whose first database operation is the membership check (nothing succeeds before it).
_PERMISSION_FIRST: Final = frozenset({"get_work_items_request", "get_sprints_request"})
#: Error codes upstream raises outside any database operation (input checks, or decisions taken on
#: rows a successful read returned).
_DECIDED_AFTER_READS: Final = frozenset({"NOT_FOUND", "CONFLICT", "DELETE_BLOCKED"})
#: Handlers that read their entity before any other check (only a malformed id is refused earlier).
_ENTITY_READ_FIRST: Final = frozenset(
    {
        "update_work_item_request",
        "delete_work_item_request",
        "update_sprint_request",
        "delete_sprint_request",
        "update_project_request",
        "delete_project_request",
    }
)
_ID_FIELDS: Final = frozenset({"work_item_id", "sprint_id", "project_id"})
#: Creates that parse ``project_id`` after their idempotency read.
_PROJECT_PARSED_AFTER_READ: Final = frozenset({"create_work_item_request", "create_sprint_request"})
#: Handlers whose ``parent_id`` check runs inside a database read.
_HIERARCHY_CHECKED: Final = frozenset({"create_work_item_request", "update_work_item_request"})


class ServerBreakerState(StrEnum):
    CLOSED = "Closed"
    OPEN = "Open"
    HALF_OPEN = "HalfOpen"


@dataclass(frozen=True)
class ServerBreakerSettings:
    """Upstream's ``CircuitBreakerConfig::default()``; ``stuck_open`` keeps upstream's clock bug."""

    failure_threshold: int = 5
    open_duration_seconds: int = 30
    half_open_success_threshold: int = 3
    failure_window_seconds: int = 60
    stuck_open: bool = True

    def __post_init__(self) -> None:
        # pm-config's ranges for the same settings.
        _check_range("failure_threshold", self.failure_threshold, 1, 100)
        _check_range("open_duration_seconds", self.open_duration_seconds, 1, 300)
        _check_range("half_open_success_threshold", self.half_open_success_threshold, 1, 50)
        _check_range("failure_window_seconds", self.failure_window_seconds, 1, 600)


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{name} must be an integer {low}-{high} (got {value!r})")


class ServerCircuitBreaker:
    """One per server, shared by every connection, as upstream's ``Arc<CircuitBreaker>``.

    Args:
        settings: Thresholds and durations.
        now: Wall-clock Unix seconds (upstream's failure window uses ``SystemTime``).
        clock: Monotonic seconds, for the open duration when ``stuck_open`` is off.
    """

    def __init__(
        self,
        settings: ServerBreakerSettings,
        *,
        now: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._now = now
        self._clock = clock
        self._state = ServerBreakerState.CLOSED
        self._failures = 0
        self._successes = 0
        self._last_failure = 0
        self._opened_at = 0.0

    @property
    def state(self) -> ServerBreakerState:
        return self._state

    def retry_after(self) -> int | None:
        """None when a database operation may run now; else upstream's "Retry after" seconds."""
        if self._state is not ServerBreakerState.OPEN:
            return None
        duration = self.settings.open_duration_seconds
        elapsed = 0 if self.settings.stuck_open else int(self._clock() - self._opened_at)
        if elapsed >= duration:
            self._state = ServerBreakerState.HALF_OPEN
            self._successes = 0
            return None
        return duration - elapsed

    def record(self, effect: Effect) -> None:
        if effect == "success":
            self._record_success()
        else:
            self._record_failure()

    def _record_success(self) -> None:
        if self._state is ServerBreakerState.CLOSED:
            self._failures = 0
        elif self._state is ServerBreakerState.HALF_OPEN:
            self._successes += 1
            if self._successes >= self.settings.half_open_success_threshold:
                self._state = ServerBreakerState.CLOSED
                self._failures = 0

    def _record_failure(self) -> None:
        now = int(self._now())
        if now - self._last_failure > self.settings.failure_window_seconds:
            self._failures = 0
        self._last_failure = now
        self._failures += 1
        if self._state is ServerBreakerState.CLOSED and self._failures < self.settings.failure_threshold:
            return
        if self._state is not ServerBreakerState.OPEN:
            self._state = ServerBreakerState.OPEN
            self._opened_at = self._clock()

    def reset(self) -> None:
        """Back to Closed with no history (what restarting pm-server does)."""
        self._state = ServerBreakerState.CLOSED
        self._failures = self._successes = self._last_failure = 0


def uses_database(kind: str) -> bool:
    """Whether upstream's handler for this payload runs database operations (and so meets the breaker)."""
    return kind not in _NO_DATABASE


def breaker_effects(kind: str, error_code: str | None, field: str | None = None) -> tuple[Effect, ...]:
    """The breaker records upstream's handler makes for a request of ``kind`` answered ``error_code``.

    A success ran only successful operations; UNAUTHORIZED fails the membership check, which is the
    first operation of GetWorkItems/GetSprints and follows a successful read everywhere else; a
    DATABASE_ERROR/INTERNAL_ERROR fails a write after successful reads; NOT_FOUND, CONFLICT and
    DELETE_BLOCKED are decided on what a successful read returned. Validation errors depend on where
    upstream checks them: a bad ``parent_id`` fails the hierarchy check, run inside a read; updates and
    deletes read the entity first, so only a malformed id is refused before any read; creates check
    their input first, then read (idempotency) before parsing ``project_id``.
    """
    if not uses_database(kind):
        return ()
    if error_code is None:
        return ("success",)
    if error_code == "UNAUTHORIZED":
        return ("failure",) if kind in _PERMISSION_FIRST else ("success", "failure")
    if error_code in ("DATABASE_ERROR", "INTERNAL_ERROR"):
        return ("success", "failure")
    if error_code in _DECIDED_AFTER_READS:
        return ("success",)
    if error_code not in ("VALIDATION_ERROR", "INVALID_MESSAGE"):
        return ()
    if field == "parent_id" and kind in _HIERARCHY_CHECKED:
        return ("success", "failure")
    if kind in _ENTITY_READ_FIRST:
        return () if field in _ID_FIELDS else ("success",)
    if kind in _PROJECT_PARSED_AFTER_READ and field == "project_id":
        return ("success",)
    return ()
