"""``pm demo --plot``: a PNG timeline of one run (latency, connection and circuit state, faults).

matplotlib is an optional extra (``pip install -e '.[plot]'``); ``require_matplotlib`` is called
before the run starts, so a missing extra costs the user no wasted run. The figure is drawn on a
plain ``Figure`` with the Agg canvas, never through pyplot's global state.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from projectmanagement_services.cli_commands.demo_recorder import DemoRecorder, TimelineMark
from projectmanagement_services.cli_commands.errors import EXIT_USAGE, CliError

__all__ = ["INSTALL_HINT", "require_matplotlib", "write_timeline_png"]

INSTALL_HINT: Final = "pip install -e '.[plot]'"

_CONNECTION_COLOURS: Final = {
    "Connected": "#2ca02c",
    "Connecting": "#ffbf00",
    "Reconnecting": "#ff7f0e",
    "Disconnected": "#d62728",
    "Closed": "#7f7f7f",
}
_CIRCUIT_COLOURS: Final = {"Closed": "#2ca02c", "HalfOpen": "#ffbf00", "Open": "#d62728"}
_FAULT_LABELS: Final = {
    "drop_connections": "drop",
    "restart_server": "restart",
    "swallow_answers": "swallow",
    "error_burst": "errors",
    "malformed_frame": "malformed",
}


def require_matplotlib(path: Path) -> None:
    """Fail before the run, with the fix, when the plot cannot be written.

    Raises:
        CliError: matplotlib is not installed, or the PNG's directory does not exist (exit 2).
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise CliError(
            f"--plot needs matplotlib, which is not installed: install with {INSTALL_HINT}", EXIT_USAGE
        )
    if not path.parent.is_dir():
        raise CliError(f"--plot: directory {path.parent} does not exist", EXIT_USAGE)


def _segments(
    marks: list[TimelineMark], kind: str, initial: str, end_s: float
) -> list[tuple[float, float, str]]:
    """(start, width, state) spans of one state lane, from its change marks."""
    spans: list[tuple[float, float, str]] = []
    start, state = 0.0, initial
    for mark in marks:
        if mark.kind != kind:
            continue
        if mark.at_s > start:
            spans.append((start, mark.at_s - start, state))
        start, state = max(start, mark.at_s), mark.name
    if end_s > start:
        spans.append((start, end_s - start, state))
    return spans


def write_timeline_png(recorder: DemoRecorder, path: Path, *, duration_s: float, title: str) -> None:
    """Draw the run: latency of each operation (failures marked) over the faults, then the state lanes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    figure = Figure(figsize=(12, 6.5), layout="constrained")
    FigureCanvasAgg(figure)
    latency_axes, lanes = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))

    latency_axes.scatter(
        recorder.ok_at_s,
        [s * 1000 for s in recorder.ok_latency_s],
        s=4,
        alpha=0.5,
        color="#1f77b4",
        label="acknowledged",
    )
    top = max((s * 1000 for s in recorder.ok_latency_s), default=1.0)
    if recorder.failed_at_s:
        latency_axes.scatter(
            recorder.failed_at_s,
            [top * 1.5] * len(recorder.failed_at_s),
            s=10,
            marker="x",
            color="#d62728",
            label="failed",
        )
    latency_axes.set_yscale("log")
    latency_axes.set_ylabel("operation latency (ms)")
    for fault, amount in recorder.fault_spans():
        latency_axes.axvline(fault.at_s, color="#9467bd", linestyle="--", linewidth=1)
        if amount > 0:  # a restart: shade the time the server was down
            latency_axes.axvspan(fault.at_s, fault.at_s + amount, color="#9467bd", alpha=0.12)
        latency_axes.annotate(
            _FAULT_LABELS.get(fault.name, fault.name),
            (fault.at_s, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            color="#9467bd",
        )
    latency_axes.legend(loc="upper left", fontsize=8)
    latency_axes.set_title(title)

    lanes_spec = (
        (1, "connection", "Connected", _CONNECTION_COLOURS),
        (0, "breaker", "Closed", _CIRCUIT_COLOURS),
    )
    for row, kind, initial, colours in lanes_spec:
        for start, width, state in _segments(recorder.marks, kind, initial, duration_s):
            lanes.broken_barh([(start, width)], (row - 0.4, 0.8), color=colours.get(state, "#7f7f7f"))
    lanes.set_yticks([0, 1], labels=["circuit", "connection"])
    lanes.set_xlabel("seconds since the chaos started")
    lanes.set_xlim(0, duration_s)
    legend = {**{f"circuit {k}": v for k, v in _CIRCUIT_COLOURS.items()}, **_CONNECTION_COLOURS}
    lanes.legend(
        handles=[Patch(color=colour, label=label) for label, colour in legend.items()],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.45),
        ncols=4,
        fontsize=7,
        frameon=False,
    )
    figure.savefig(path, dpi=110)
