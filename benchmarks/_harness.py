"""Shared machinery of the benchmark scripts: scales, timing, statistics, tables, checks.

Why one module: every script must time the same way (``perf_counter_ns``, gc on, warm-up first,
repetitions interleaved across targets so that machine noise hits every target alike), print the
same kind of table (median, min-max, ratio to a baseline), honour the same ``--quick``/``--smoke``
flags, stay bounded in time, and exit non-zero when a correctness check fails. Benchmarks never
assert a time: the targets are printed as information.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = [
    "FULL",
    "QUICK",
    "SMOKE",
    "Checks",
    "Deadline",
    "Scale",
    "Stats",
    "TargetVerdict",
    "console",
    "fmt_bytes",
    "fmt_ns",
    "fmt_range_ns",
    "fmt_ratio",
    "measure_interleaved",
    "new_table",
    "parse_args",
    "percentile",
    "print_header",
    "print_targets",
    "rss_bytes",
]

#: Wide enough that no column is truncated when the output is captured (CI, RESULTS.md).
console = Console(width=None if sys.stdout.isatty() else 200, highlight=False)


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a run is. Scripts derive their own counts from ``factor`` (1.0 for a full run)."""

    name: str
    repetitions: int
    calls: int
    warmup: int
    factor: float


#: The issue's rule: >= 7 repetitions of >= 20,000 calls, after warm-up.
FULL = Scale("full", repetitions=7, calls=20_000, warmup=2_000, factor=1.0)
#: For a developer's quick look: same repetitions, a tenth of the calls.
QUICK = Scale("quick", repetitions=7, calls=2_000, warmup=500, factor=0.1)
#: For CI: proves the script runs end to end and its checks pass; the numbers mean nothing.
SMOKE = Scale("smoke", repetitions=3, calls=50, warmup=10, factor=0.005)


def parse_args(
    description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> tuple[argparse.Namespace, Scale]:
    """The common command line: ``--quick``, ``--smoke``, ``--repetitions``, ``--calls``."""
    parser = argparse.ArgumentParser(description=description)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a tenth of the full counts")
    size.add_argument("--smoke", action="store_true", help="tiny counts: checks only (CI)")
    parser.add_argument("--repetitions", type=int, help="override the number of repetitions")
    parser.add_argument("--calls", type=int, help="override the calls per repetition")
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    scale = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.repetitions is not None or args.calls is not None:
        scale = Scale(
            scale.name + "*",
            repetitions=max(1, args.repetitions or scale.repetitions),
            calls=max(1, args.calls or scale.calls),
            warmup=scale.warmup,
            factor=scale.factor,
        )
    return args, scale


class Deadline:
    """A time bound for a whole loop: every load loop checks it besides its count."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @property
    def remaining(self) -> float:
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self._end


@dataclass(frozen=True, slots=True)
class Stats:
    """One value per repetition (ns per call, ops/s, ...), summarised by median and range."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def minimum(self) -> float:
        return min(self.samples)

    @property
    def maximum(self) -> float:
        return max(self.samples)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in [0, 1]); no interpolation to invent values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def _run_calls(fn: Callable[[], Awaitable[Any]], calls: int) -> tuple[int, Any]:
    result: Any = None
    start = time.perf_counter_ns()
    for _ in range(calls):
        result = await fn()
    return time.perf_counter_ns() - start, result


async def measure_interleaved(
    targets: Mapping[str, Callable[[], Awaitable[Any]]],
    scale: Scale,
    *,
    expect_result: object = None,
    checks: Checks | None = None,
) -> dict[str, Stats]:
    """ns per call of each zero-argument async callable, repetitions interleaved across targets.

    gc stays on (allocation is part of a library's cost). Each target is warmed up first. When
    ``checks`` is given, the value of each repetition's last call must equal ``expect_result``.
    """
    gc.enable()
    for name, fn in targets.items():
        _, result = await _run_calls(fn, scale.warmup)
        if checks is not None:
            checks.expect(result == expect_result, f"{name}: warm-up returned {result!r}")
    samples: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(scale.repetitions):
        for name, fn in targets.items():
            elapsed, result = await _run_calls(fn, scale.calls)
            samples[name].append(elapsed / scale.calls)
            if checks is not None and result != expect_result:
                checks.expect(False, f"{name}: returned {result!r}, expected {expect_result!r}")
    return {name: Stats(tuple(values)) for name, values in samples.items()}


@dataclass
class Checks:
    """Correctness checks inside a benchmark: any failure makes the script exit non-zero."""

    failures: list[str] = field(default_factory=list)
    passed: int = 0

    def expect(self, condition: bool, what: str) -> bool:
        if condition:
            self.passed += 1
        else:
            self.failures.append(what)
            console.print(f"[bold red]CHECK FAILED[/]: {what}")
        return condition

    def finish(self) -> int:
        """Print the verdict and return the process exit code."""
        if self.failures:
            console.print(f"[bold red]{len(self.failures)} correctness check(s) failed[/]")
            for failure in self.failures:
                console.print(f"  - {failure}")
            return 1
        console.print(f"correctness checks: {self.passed} passed, 0 failed")
        return 0


@dataclass(frozen=True, slots=True)
class TargetVerdict:
    """A target from the issue, the measured figure, and whether it is met (never asserted)."""

    target: str
    measured: str
    met: bool | None  # None: not measurable in this run (e.g. a peer is not installed)


def print_targets(verdicts: Iterable[TargetVerdict], scale: Scale) -> None:
    table = new_table("Targets (informational; never asserted)", ["target", "measured", "met"])
    for verdict in verdicts:
        met = "n/a" if verdict.met is None else "yes" if verdict.met else "NO"
        table.add_row(verdict.target, verdict.measured, met)
    console.print(table)
    if scale.name.startswith("smoke"):
        console.print("(smoke scale: the figures above are meaningless)")


def new_table(title: str, columns: Sequence[str]) -> Table:
    """A table whose first column is left-aligned and every figure column right-aligned."""
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right", no_wrap=index == 0)
    return table


def print_header(benchmark: str, scale: Scale, details: str = "") -> None:
    """One line that says what ran, how big, where: the context of the absolute numbers."""
    cpu = _cpu_model()
    console.print(
        f"[bold]{benchmark}[/] scale={scale.name} (repetitions={scale.repetitions}, calls={scale.calls})"
        f" python={platform.python_version()} cpus={os.cpu_count()} cpu={cpu!r} {details}".rstrip()
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_ns(ns: float) -> str:
    if math.isnan(ns):
        return "-"
    if abs(ns) < 1_000:
        return f"{ns:.0f} ns"
    if abs(ns) < 1_000_000:
        return f"{ns / 1_000:.2f} us"
    if abs(ns) < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def fmt_range_ns(low: float, high: float) -> str:
    return f"{fmt_ns(low)} - {fmt_ns(high)}"


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def fmt_bytes(value: float) -> str:
    return f"{value / (1024 * 1024):.2f} MB"


def rss_bytes() -> int:
    """Resident set size of this process (psutil when installed, else /proc/self/statm)."""
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)
