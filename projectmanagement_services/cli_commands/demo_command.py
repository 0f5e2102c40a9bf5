"""``pm demo``: the whole product at work in about twenty seconds, on an embedded server.

Runs the chaos engine (``projectmanagement_services.demo.run_chaos``): a reference server in a child
process on a free loopback port with a temporary SQLite file, 20 writers on one resilient client, a
subscriber keeping a store, and a seeded schedule of faults (connections dropped, the server stopped
and restarted, answers swallowed, error bursts that open the circuit, malformed frames). A live view
shows progress, connection and circuit state, retries and reconnects; faults and state changes are
printed as they happen. The report ends with the two checks that matter, as PASS/FAIL lines.

Exit code 0 only when every check of the run held (the two headline checks among them); 1 otherwise.
Settings load as for every command (``--config``, ``--environment``, ``ProjectManagement__...``
variables, ``--otel``) and both demo clients are built from them by the DI container; the demo then
layers its own server, user id and demo-sized timings on top, so connection options (``--server-url``,
``--token``, ``--user-id``) do not apply to it, while Telemetry and Logging do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

from rich.live import Live

from projectmanagement_services.cli_commands.command_settings import settings_from_args
from projectmanagement_services.cli_commands.demo_recorder import DemoRecorder, TimelineMark
from projectmanagement_services.cli_commands.demo_view import (
    DemoLiveView,
    headline_checks,
    mark_line,
    report_as_json,
    report_renderable,
)
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, EXIT_OK
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.session import configure_logging
from projectmanagement_services.cli_commands.timeline_plot import require_matplotlib, write_timeline_png
from projectmanagement_services.demo import ChaosEvent, ChaosReport
from projectmanagement_services.settings import AppSettings

__all__ = ["demo_passed", "run_demo"]

_REFRESH_S: Final = 0.25


def demo_passed(report: ChaosReport) -> bool:
    """Both headline checks reported and passed, and every other check of the run as well."""
    headline = all(check is not None and check.passed for _, check in headline_checks(report))
    return headline and report.passed


async def _run(
    args: argparse.Namespace, settings: AppSettings, output: Output, recorder: DemoRecorder
) -> ChaosReport:
    # The engine builds on the DI container: imported when a demo runs, never for ``--help``.
    from projectmanagement_services.demo import run_chaos

    view = DemoLiveView(recorder, args.duration, args.seed)
    if output.json_output:

        def record(event: ChaosEvent) -> None:
            recorder.on_event(event)

        return await run_chaos(
            args.duration,
            args.seed,
            workers=args.workers,
            on_progress=recorder.on_progress,
            on_event=record,
            settings=settings,
        )
    with Live(view, console=output.out, auto_refresh=False, transient=False) as live:

        def on_event(event: ChaosEvent) -> None:
            mark: TimelineMark | None = recorder.on_event(event)
            if mark is not None:
                live.console.print(mark_line(mark), soft_wrap=True)

        async with _refreshing(live):
            return await run_chaos(
                args.duration,
                args.seed,
                workers=args.workers,
                on_progress=recorder.on_progress,
                on_event=on_event,
                settings=settings,
            )


@contextlib.asynccontextmanager
async def _refreshing(live: Live) -> AsyncIterator[None]:
    """Redraw the live view a few times a second, from the event loop (no refresh thread)."""

    async def refresh() -> None:
        while True:
            live.refresh()
            await asyncio.sleep(_REFRESH_S)

    task = asyncio.get_running_loop().create_task(refresh(), name="pm-demo-refresh")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        live.refresh()


def run_demo(args: argparse.Namespace) -> int:
    output = Output(json_output=args.json)
    settings = settings_from_args(args)
    plot = Path(args.plot) if args.plot is not None else None
    if plot is not None:
        require_matplotlib(plot)
    undo_logging = configure_logging(settings, args.verbose, output.err, quiet=True)
    recorder = DemoRecorder()
    try:
        report = asyncio.run(_run(args, settings, output, recorder))
    finally:
        undo_logging()
    passed = demo_passed(report)
    if output.json_output:
        output.json(report_as_json(report, recorder, passed))
    else:
        output.out.print()
        output.out.print(report_renderable(report, recorder))
    if plot is not None:
        write_timeline_png(
            recorder,
            plot,
            duration_s=report.duration_s,
            title=f"pm demo: seed {report.seed}, {report.duration_s:g} s",
        )
        if not output.json_output:
            output.line(f"timeline written to {plot}")
    if not output.json_output:
        output.line(
            "all checks passed" if passed else "some checks FAILED",
            style="bold green" if passed else "bold red",
        )
    return EXIT_OK if passed else EXIT_FAILED
