"""``pm demo``'s screens: the live view while the chaos runs, and the report when it is over.

Everything is a rich renderable built from a ``DemoRecorder`` and the engine's ``ChaosReport``; no
terminal drawing of our own. The two checks that matter are found by name in the report; a check the
engine did not report counts as failed, so a renamed check can never turn into a silent pass.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final

from rich.console import Group, RenderableType
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from projectmanagement_services.cli_commands.demo_recorder import RECENT_WINDOW, DemoRecorder, TimelineMark
from projectmanagement_services.cli_commands.stats import LatencySummary
from projectmanagement_services.demo import ChaosCheck, ChaosReport

__all__ = [
    "LOST_OR_DUPLICATED",
    "REPORT_SCHEMA_VERSION",
    "STORE_MATCHES_SERVER",
    "TERMS",
    "DemoLiveView",
    "check_id",
    "headline_checks",
    "mark_line",
    "report_as_json",
    "report_renderable",
]

#: Headline check 1, and how the engine names it (prefix of ``ChaosCheck.name``).
LOST_OR_DUPLICATED: Final = "none lost, none duplicated: the server holds exactly the acknowledged creates"
_LOST_OR_DUPLICATED_PREFIX: Final = "server items =="
#: Headline check 2.
STORE_MATCHES_SERVER: Final = "the subscriber's store equals the server's state"
_STORE_MATCHES_SERVER_PREFIX: Final = "subscriber store =="

_STATE_STYLES: Final = {
    "Connected": "bold green",
    "Connecting": "yellow",
    "Reconnecting": "bold yellow",
    "Disconnected": "bold red",
    "stopped": "dim",
}
#: Words for the live panel, so that "Closed" means only a healthy circuit, never a stopped link.
_CONNECTION_WORDS: Final = {"Closed": "stopped"}
_CIRCUIT_WORDS: Final = {
    "Closed": "closed (healthy)",
    "HalfOpen": "half-open (probing)",
    "Open": "open (failing fast)",
}
#: One line for each term of the report a new user may not know.
TERMS: Final = (
    ("hidden outcome", "an operation that failed for its caller although the server may have applied it"),
    (
        "settled",
        "resolved after the chaos: a create re-sent with its original message_id, a delete sent again",
    ),
    ("re-sent", "sent again with the same message_id, which the server answers from its idempotency store"),
    ("breaker trip", "the circuit opened: calls fail fast, nothing is sent, until a probe succeeds"),
)
_CIRCUIT_STYLES: Final = {"Closed": "bold green", "HalfOpen": "bold yellow", "Open": "bold red"}
_MARK_STYLES: Final = {
    "fault": "bold magenta",
    "connection": "yellow",
    "breaker": "cyan",
    "reconnected": "green",
}

#: Why an operation can fail under chaos, in words a new user follows.
_REASONS: Final = {
    "CircuitOpenException": "refused at once while the circuit was open (fail fast, nothing sent)",
    "ConnectionException": "the connection was down for every attempt",
    "RequestTimeoutException": "answers were swallowed for every attempt",
    "VersionConflictException": "an earlier attempt had applied; the version moved on",
    "ServerRejected SERVICE_UNAVAILABLE": "the error burst outlasted the retries",
}


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mark_line(mark: TimelineMark) -> Text:
    """One timeline line: ``  3.2 s  fault: every connection dropped``."""
    line = Text(f"{mark.at_s:6.1f} s  ", style="dim")
    line.append(mark.detail, style=_MARK_STYLES.get(mark.kind))
    return line


class DemoLiveView:
    """The live panel: a progress bar and the resilience counters, rebuilt on each refresh."""

    def __init__(self, recorder: DemoRecorder, duration_s: float, seed: int) -> None:
        self._recorder = recorder
        self._duration_s = duration_s
        self._progress = Progress(
            TextColumn(f"[bold]pm demo[/] seed {seed}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        )
        self._task: TaskID = self._progress.add_task("chaos", total=duration_s)

    def __rich__(self) -> RenderableType:
        recorder = self._recorder
        progress = recorder.progress
        self._progress.update(self._task, completed=progress.elapsed_s if progress else 0.0)
        # Two label/value pairs a row: fits 80 columns with the longest state words.
        table = Table.grid(padding=(0, 2))
        for _ in range(2):
            table.add_column(justify="left")
            table.add_column(justify="right")
        state = _CONNECTION_WORDS.get(recorder.connection_state, recorder.connection_state)
        circuit = recorder.breaker_state
        table.add_row(
            "connection",
            Text(state, style=_STATE_STYLES.get(state, "")),
            "circuit",
            Text(_CIRCUIT_WORDS.get(circuit, circuit), style=_CIRCUIT_STYLES.get(circuit, "")),
        )
        table.add_row(
            "faults injected",
            str(max(recorder.faults_injected, progress.faults_injected if progress else 0)),
            "breaker trips",
            str(max(recorder.breaker_trips, progress.breaker_trips if progress else 0)),
        )
        table.add_row(
            "acknowledged",
            str(len(recorder.ok_latency_s)),
            "failed",
            str(len(recorder.failed_at_s)),
        )
        table.add_row(
            "retries",
            str(progress.retries if progress else 0),
            "reconnects",
            str(recorder.writer_reconnects),
        )
        recent = recorder.recent_latency
        table.add_row(
            f"latency p50/p99, last {RECENT_WINDOW} ops",
            f"{_ms(recent.p50)} / {_ms(recent.p99)}" if recent else "-",
        )
        return Group(self._progress, table)


def headline_checks(report: ChaosReport) -> list[tuple[str, ChaosCheck | None]]:
    """The two checks that matter, each with the engine's check (None when it did not report it)."""

    def find(prefix: str) -> ChaosCheck | None:
        return next((c for c in report.checks if c.name.startswith(prefix)), None)

    return [
        (LOST_OR_DUPLICATED, find(_LOST_OR_DUPLICATED_PREFIX)),
        (STORE_MATCHES_SERVER, find(_STORE_MATCHES_SERVER_PREFIX)),
    ]


def _verdict(passed: bool) -> Text:
    return Text("PASS", style="bold green") if passed else Text("FAIL", style="bold red")


def _operations_table(report: ChaosReport) -> Table:
    failed_by_kind: Counter[str] = Counter()
    for reason, count in report.failed.items():
        failed_by_kind[reason.split(":", 1)[0]] += count
    table = Table(title="Operations", title_justify="left")
    for column in ("operation", "attempted", "acknowledged", "failed"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    kinds = sorted(set(report.acknowledged) | set(failed_by_kind))
    for kind in kinds:
        ok, bad = report.acknowledged[kind], failed_by_kind[kind]
        table.add_row(kind, str(ok + bad), str(ok), str(bad))
    total_ok, total_bad = sum(report.acknowledged.values()), sum(failed_by_kind.values())
    table.add_row("total", str(total_ok + total_bad), str(total_ok), str(total_bad), style="bold")
    return table


def _failures_table(report: ChaosReport) -> Table | None:
    if not report.failed:
        return None
    table = Table(title="Failed operations, by reason", title_justify="left")
    table.add_column("operation: reason")
    table.add_column("count", justify="right")
    table.add_column("what happened")
    for reason, count in report.failed.most_common():
        cause = reason.split(": ", 1)[-1]
        table.add_row(reason, str(count), _REASONS.get(cause, ""))
    return table


def _resilience_table(report: ChaosReport, recorder: DemoRecorder) -> Table:
    table = Table(title="Resilience", title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    faults = ", ".join(f"{n} {kind}" for kind, n in sorted(report.faults.items())) or "none"
    table.add_row("faults injected", faults)
    table.add_row("retries", str(report.retries))
    table.add_row("breaker trips (circuit opened)", str(report.breaker_trips))
    table.add_row("reconnects (writer / subscriber)", f"{report.reconnects} / {report.subscriber_reconnects}")
    table.add_row("items resynced by the subscriber", str(recorder.resynced_items))
    settled = ", ".join(f"{n} {kind}" for kind, n in sorted(report.settled.items())) or "none"
    table.add_row("hidden outcomes settled after the chaos", settled)
    table.add_row("creates answered from the idempotency store", str(report.server_replays))
    dropped = ", ".join(f"{n} {why}" for why, n in sorted(report.frames_dropped.items())) or "none"
    table.add_row("bad frames dropped", dropped)
    table.add_row("rate limit (server, mirrored by the clients)", report.rate_limit)
    table.add_row(
        "rate limit: refusals seen / 1008 closes",
        f"{report.rate_limit_refusals} / {report.rate_limit_closes}",
    )
    table.add_row(
        "rate limit: throttled (sends that waited, summed wait)",
        f"{report.throttled_sends}, {report.throttled_s:.2f} s",
    )
    table.add_row(
        "rate limit: sends failed fast (slot beyond RequestTimeout)", str(report.rate_limit_fail_fasts)
    )
    latency = recorder.latency
    if latency is not None:
        table.add_row("latency p50 / p99 (acknowledged)", f"{_ms(latency.p50)} / {_ms(latency.p99)}")
        table.add_row("latency max", _ms(latency.maximum))
    table.add_row(
        "items on the server at the end", f"{report.server_items} (expected {report.expected_items})"
    )
    return table


def _checks(report: ChaosReport) -> Group:
    lines: list[RenderableType] = [Text("Checks", style="bold")]
    headline = headline_checks(report)
    for title, check in headline:
        line = Text("  ")
        line.append_text(_verdict(check is not None and check.passed))
        line.append(f"  {title}")
        if check is None:
            line.append("  (not reported by the engine)", style="red")
        elif check.detail:
            line.append(f"  ({check.detail})", style="dim")
        lines.append(line)
    shown = {id(check) for _, check in headline if check is not None}
    for check in report.checks:
        if id(check) in shown:
            continue
        line = Text("  ")
        line.append_text(_verdict(check.passed))
        line.append(f"  {check.name}", style="dim" if check.passed else "")
        if check.detail and not check.passed:
            line.append(f"  ({check.detail})", style="dim")
        lines.append(line)
    return Group(*lines)


def report_renderable(report: ChaosReport, recorder: DemoRecorder) -> Group:
    """The end-of-run report: operations, failures by reason, resilience numbers, and the checks."""
    parts: list[RenderableType] = [
        Text(
            f"Chaos run: seed {report.seed}, {report.duration_s:g} s of faults, {report.workers} writers "
            f"on one resilient client, {report.elapsed_s:.1f} s in all",
            style="bold",
        ),
        _operations_table(report),
    ]
    failures = _failures_table(report)
    if failures is not None:
        parts.append(failures)
    parts += [_resilience_table(report, recorder), _terms(), _checks(report)]
    return Group(*parts)


def _terms() -> Group:
    lines: list[RenderableType] = [Text("Terms", style="bold")]
    for term, meaning in TERMS:
        line = Text(f"  {term}: ", style="bold")
        line.append(meaning, style="dim")
        lines.append(line)
    return Group(*lines)


def _latency_json(summary: LatencySummary | None) -> dict[str, float] | None:
    if summary is None:
        return None
    return {"p50_ms": summary.p50 * 1000, "p99_ms": summary.p99 * 1000, "max_ms": summary.maximum * 1000}


#: ``pm demo --json``'s layout version: raised when a key is renamed or removed (added keys keep it).
REPORT_SCHEMA_VERSION: Final = 1


def check_id(name: str) -> str:
    """A check's stable id for scripts: its name in snake_case (``no_task_left_running``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def report_as_json(report: ChaosReport, recorder: DemoRecorder, passed: bool) -> dict[str, Any]:
    """The report for scripts (``pm demo --json``), with a schema version and stable check ids."""
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "passed": passed,
        "seed": report.seed,
        "duration_s": report.duration_s,
        "elapsed_s": report.elapsed_s,
        "acknowledged": dict(report.acknowledged),
        "failed": dict(report.failed),
        "faults": dict(report.faults),
        "retries": report.retries,
        "breaker_trips": report.breaker_trips,
        "reconnects": report.reconnects,
        "subscriber_reconnects": report.subscriber_reconnects,
        "resynced_items": recorder.resynced_items,
        "settled": dict(report.settled),
        "server_replays": report.server_replays,
        "rate_limit": {
            "limit": report.rate_limit,
            "refusals_seen": report.rate_limit_refusals,
            "closes": report.rate_limit_closes,
            "throttled_sends": report.throttled_sends,
            "throttled_s": report.throttled_s,
            "fail_fasts": report.rate_limit_fail_fasts,
        },
        "server_items": report.server_items,
        "expected_items": report.expected_items,
        "latency": _latency_json(recorder.latency),
        "headline_checks": [
            {
                "id": check_id(title),
                "name": title,
                "passed": check is not None and check.passed,
                "detail": check.detail if check else "",
            }
            for title, check in headline_checks(report)
        ],
        "checks": [
            {"id": check_id(c.name), "name": c.name, "passed": c.passed, "detail": c.detail}
            for c in report.checks
        ],
    }
