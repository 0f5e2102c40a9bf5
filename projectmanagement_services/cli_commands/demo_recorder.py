"""What ``pm demo`` remembers of a chaos run: the numbers its live view, report and plot are drawn from.

Fed by the engine's ``on_progress`` and ``on_event`` hooks (``projectmanagement_services.demo``).
Latencies are kept in ``array('d')`` (8 bytes a sample), so a long run stays small; state changes
and faults are few and kept as they come, for the timeline.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from projectmanagement_services.cli_commands.stats import LatencySummary
from projectmanagement_services.demo import ChaosEvent, ChaosProgress

__all__ = ["RECENT_WINDOW", "DemoRecorder", "TimelineMark"]

#: How many recent operations the live view's latency is computed over (cheap at any run length).
RECENT_WINDOW: Final = 500


@dataclass(frozen=True, slots=True)
class TimelineMark:
    """A moment worth a line in the log and a mark on the plot: a fault or a state change."""

    at_s: float
    kind: str
    name: str
    detail: str = ""
    amount: float = 0.0


@dataclass
class DemoRecorder:
    """Collects a run's events; every method is called on the event loop's thread."""

    progress: ChaosProgress | None = None
    ok_at_s: array[float] = field(default_factory=lambda: array("d"))
    ok_latency_s: array[float] = field(default_factory=lambda: array("d"))
    failed_at_s: array[float] = field(default_factory=lambda: array("d"))
    failures: Counter[str] = field(default_factory=Counter)
    marks: list[TimelineMark] = field(default_factory=list)
    connection_state: str = "Connecting"
    breaker_state: str = "Closed"
    resynced_items: int = 0
    subscriber_reconnects: int = 0
    writer_reconnects: int = 0
    #: Counted as the events arrive, so the live panel's counters move with its states (progress
    #: reports come once a second: a circuit shown Open must not show 0 trips meanwhile).
    breaker_trips: int = 0
    faults_injected: int = 0

    def on_progress(self, progress: ChaosProgress) -> None:
        self.progress = progress
        if progress.connection_state:
            self.connection_state = progress.connection_state
        if progress.breaker_state:
            self.breaker_state = progress.breaker_state

    def on_event(self, event: ChaosEvent) -> TimelineMark | None:
        """Record ``event``; returns the timeline mark it made, if it is one worth showing."""
        if event.kind == "operation":
            if event.ok:
                self.ok_at_s.append(event.at_s)
                self.ok_latency_s.append(event.duration_s)
            else:
                self.failed_at_s.append(event.at_s)
                self.failures[f"{event.name}: {event.detail}"] += 1
            return None
        if event.kind == "connection":
            previous, self.connection_state = self.connection_state, event.name
            mark = self._mark(event, _describe_connection(previous, event.name))
            # Each failed reconnect attempt goes Connecting -> Reconnecting: kept for the plot,
            # but only a lost connection and a restored one are worth a line.
            lost = event.name == "Reconnecting" and previous == "Connected"
            return mark if lost or event.name == "Connected" else None
        if event.kind == "breaker":
            self.breaker_state = event.name
            if event.name == "Open":
                self.breaker_trips += 1
            return self._mark(event, _describe_circuit(event.name))
        if event.kind == "reconnected":
            resynced = int(event.amount)
            if event.name == "subscriber":
                self.subscriber_reconnects += 1
                self.resynced_items += resynced
                return self._mark(
                    event,
                    f"subscriber reconnected: re-subscribed, resynced {resynced} item(s) into its store",
                )
            self.writer_reconnects += 1
            return self._mark(event, "writer reconnected")
        if event.kind == "fault":
            self.faults_injected += 1
            return self._mark(event, _describe_fault(event.name, event.amount))
        return None

    def _mark(self, event: ChaosEvent, detail: str) -> TimelineMark:
        mark = TimelineMark(event.at_s, event.kind, event.name, detail, event.amount)
        self.marks.append(mark)
        return mark

    @property
    def latency(self) -> LatencySummary | None:
        """Latency of every acknowledged operation, as its caller saw it (retries and backoff included)."""
        return LatencySummary.of(self.ok_latency_s)

    @property
    def recent_latency(self) -> LatencySummary | None:
        return LatencySummary.of(self.ok_latency_s[-RECENT_WINDOW:])

    def faults(self) -> list[TimelineMark]:
        return [mark for mark in self.marks if mark.kind == "fault"]

    def fault_spans(self) -> list[tuple[TimelineMark, float]]:
        """Each fault with how long it kept the server down (restarts; 0 for the instant ones)."""
        return [(mark, mark.amount if mark.name == "restart_server" else 0.0) for mark in self.faults()]


def _describe_connection(previous: str, current: str) -> str:
    if current == "Reconnecting" and previous == "Connected":
        return "connection lost: reconnecting"
    if current == "Connected":
        return "connected"
    return f"connection {current}"


def _describe_circuit(state: str) -> str:
    if state == "Open":
        return "circuit opened: calls fail fast until a probe succeeds"
    if state == "HalfOpen":
        return "circuit half-open: one probe allowed"
    return "circuit closed: calls flow again"


def _describe_fault(kind: str, amount: float) -> str:
    if kind == "restart_server":
        return f"fault: server stopped for {amount:.1f} s, then restarted"
    if kind == "swallow_answers":
        return f"fault: next {int(amount)} answer(s) swallowed"
    if kind == "error_burst":
        return f"fault: next {int(amount)} request(s) answered SERVICE_UNAVAILABLE"
    if kind == "drop_connections":
        return "fault: every connection dropped (TCP abort)"
    if kind == "rate_limit_burst":
        return f"fault: readers ask far beyond the rate limit for {amount:.1f} s"
    if kind == "malformed_frame":
        return "fault: a malformed frame sent to every client"
    return f"fault: {kind}"
