"""``pm demo``: the main job as a new user runs it, and the report's verdict logic."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from projectmanagement_services.cli import main
from projectmanagement_services.cli_commands.demo_command import demo_passed
from projectmanagement_services.cli_commands.demo_recorder import DemoRecorder
from projectmanagement_services.cli_commands.demo_view import (
    LOST_OR_DUPLICATED,
    STORE_MATCHES_SERVER,
    report_renderable,
)
from projectmanagement_services.cli_commands.timeline_plot import write_timeline_png
from projectmanagement_services.demo import ChaosCheck, ChaosEvent, ChaosReport
from tests.cli.conftest import run_pm_process


@pytest.mark.slow
async def test_pm_demo_as_a_subprocess_passes_both_checks() -> None:
    result = await run_pm_process("demo", "--duration", "10", "--seed", "1", timeout=90)
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    assert f"PASS  {LOST_OR_DUPLICATED}" in result.out
    assert f"PASS  {STORE_MATCHES_SERVER}" in result.out
    assert "FAIL" not in result.out
    assert "fault:" in result.out  # the timeline was shown as it happened
    assert "Traceback" not in result.out + result.err


def _report(*checks: ChaosCheck) -> ChaosReport:
    report = ChaosReport(seed=1, duration_s=2.0, workers=2)
    report.acknowledged.update({"create": 3})
    report.failed.update({"create: CircuitOpenException": 1})
    report.checks.extend(checks)
    return report


_NONE_LOST = ChaosCheck("server items == acknowledged creates - acknowledged deletes", True, "0 lost")
_STORE_OK = ChaosCheck("subscriber store == server state", True)


def test_demo_passes_only_when_both_headline_checks_are_reported_and_pass() -> None:
    assert demo_passed(_report(_NONE_LOST, _STORE_OK))
    assert not demo_passed(_report(_NONE_LOST))  # a check the engine did not report is a failure
    assert not demo_passed(
        _report(_NONE_LOST, ChaosCheck("subscriber store == server state", False, "2 differ"))
    )
    assert not demo_passed(_report(_NONE_LOST, _STORE_OK, ChaosCheck("no task left running", False)))


def test_report_prints_fail_for_a_missing_headline_check() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(report_renderable(_report(_NONE_LOST), DemoRecorder()))
    text = console.export_text()
    assert f"PASS  {LOST_OR_DUPLICATED}" in text
    assert f"FAIL  {STORE_MATCHES_SERVER}" in text
    assert "not reported by the engine" in text
    assert "CircuitOpenException" in text


def test_recorder_counts_operations_and_resyncs_and_keeps_state_lanes() -> None:
    recorder = DemoRecorder()
    events = [
        ChaosEvent(0.0, "connection", "Connected"),
        ChaosEvent(0.1, "operation", "create", duration_s=0.002),
        ChaosEvent(0.2, "operation", "update", ok=False, duration_s=0.5, detail="ConnectionException"),
        ChaosEvent(0.3, "fault", "restart_server", amount=0.8),
        ChaosEvent(0.3, "connection", "Reconnecting"),
        ChaosEvent(0.4, "connection", "Connecting"),
        ChaosEvent(0.5, "connection", "Reconnecting"),
        ChaosEvent(1.2, "connection", "Connected"),
        ChaosEvent(1.3, "reconnected", "subscriber", amount=7),
        ChaosEvent(1.3, "breaker", "Open"),
    ]
    printed = [mark.detail for event in events if (mark := recorder.on_event(event)) is not None]
    assert len(recorder.ok_latency_s) == 1
    assert recorder.failures == Counter({"update: ConnectionException": 1})
    assert (recorder.resynced_items, recorder.subscriber_reconnects) == (7, 1)
    assert (recorder.connection_state, recorder.breaker_state) == ("Connected", "Open")
    # Failed reconnect attempts (Connecting -> Reconnecting) are kept for the plot, not printed.
    assert printed == [
        "connected",
        "fault: server stopped for 0.8 s, then restarted",
        "connection lost: reconnecting",
        "connected",
        "subscriber reconnected: re-subscribed, resynced 7 item(s) into its store",
        "circuit opened: calls fail fast until a probe succeeds",
    ]
    assert [m.name for m in recorder.marks if m.kind == "connection"] == [
        "Connected", "Reconnecting", "Connecting", "Reconnecting", "Connected",
    ]  # fmt: skip
    assert recorder.fault_spans()[0][1] == 0.8


def test_timeline_png_is_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the plot extra is optional: pip install -e '.[plot]'")
    recorder = DemoRecorder()
    for event in (
        ChaosEvent(0.1, "operation", "create", duration_s=0.002),
        ChaosEvent(0.5, "operation", "create", ok=False, duration_s=0.1, detail="CircuitOpenException"),
        ChaosEvent(0.4, "fault", "restart_server", amount=0.3),
        ChaosEvent(0.4, "connection", "Reconnecting"),
        ChaosEvent(0.8, "connection", "Connected"),
        ChaosEvent(0.45, "breaker", "Open"),
    ):
        recorder.on_event(event)
    path = tmp_path / "timeline.png"
    write_timeline_png(recorder, path, duration_s=1.0, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_plot_without_matplotlib_fails_before_the_run_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    code = await asyncio.to_thread(main, ["demo", "--duration", "2", "--plot", str(tmp_path / "t.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install -e '.[plot]'" in err
    assert not (tmp_path / "t.png").exists()


async def test_demo_json_reports_both_checks(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    # --json before the command, as the README says flags go either side.
    code = await asyncio.to_thread(
        main, ["--json", "demo", "--duration", "3", "--seed", "2", "--workers", "5"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == (0 if report["passed"] else 1)
    assert report["schema_version"] == 1
    assert [c["name"] for c in report["headline_checks"]] == [LOST_OR_DUPLICATED, STORE_MATCHES_SERVER]
    ids = [c["id"] for c in report["checks"]]
    assert len(ids) == len(set(ids))  # unique, so a script can look a check up by id
    assert "no_task_left_running" in ids
    assert all(re.fullmatch(r"[a-z0-9_]+", i) for i in ids)
    assert all(c["passed"] for c in report["headline_checks"])
    assert sum(report["acknowledged"].values()) > 0
    assert report["latency"]["p50_ms"] <= report["latency"]["p99_ms"]


def test_live_panel_counters_move_with_the_states_and_say_what_they_mean() -> None:
    from rich.console import Console

    from projectmanagement_services.cli_commands.demo_view import DemoLiveView
    from projectmanagement_services.demo import ChaosEvent

    recorder = DemoRecorder()
    recorder.on_event(ChaosEvent(0.5, "fault", "error_burst", amount=5))
    recorder.on_event(ChaosEvent(0.6, "breaker", "Open"))  # before any progress report arrives
    console = Console(width=80, record=True)
    console.print(DemoLiveView(recorder, duration_s=10, seed=1))
    text = console.export_text()
    assert "open (failing fast)" in text
    assert re.search(r"breaker trips\s+1\b", text), text
    assert re.search(r"faults injected\s+1\b", text), text
    assert "last 500 ops" in text  # the live latency is a recent window, and says so

    recorder.on_event(ChaosEvent(0.9, "breaker", "Closed"))
    recorder.on_event(ChaosEvent(1.0, "connection", "Closed"))
    console = Console(width=80, record=True)
    console.print(DemoLiveView(recorder, duration_s=10, seed=1))
    text = console.export_text()
    assert "closed (healthy)" in text  # the circuit
    assert "stopped" in text  # the connection: never "Closed" for both


def test_report_fits_80_columns_and_explains_its_terms() -> None:
    from collections import Counter as Counts

    from rich.console import Console

    from projectmanagement_services.cli_commands.demo_view import TERMS

    report = _report(_NONE_LOST, _STORE_OK)
    report.faults = Counts({"drop_connections": 3, "restart_server": 1, "swallow_answers": 2})
    report.settled = Counts({"create": 2, "delete": 1})
    report.failed = Counts({"create: RequestTimeoutException": 4})
    console = Console(width=80, record=True)
    console.print(report_renderable(report, DemoRecorder()))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for term, _ in TERMS:
        assert f"{term}: " in text
