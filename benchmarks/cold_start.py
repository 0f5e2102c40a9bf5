"""Cold start: how long a fresh process takes to import the package and to answer ``pm --help``.

Side by side in one run, repetitions interleaved across rows (noise hits every row alike): bare
``python -c pass``, ``import projectmanagement_services`` (and ``projectmanagement_core``),
``pm --help``, ``pm --version``, ``pm items create --help``, ``pm serve --help``, and a tab
completion as the shell asks it (argcomplete, ``pm pro<TAB>``). Wall time of each process, best
and median of N; the targets of issue 15 (``pm --help`` <= 300 ms, the import <= 250 ms over bare
Python) are printed, never asserted. ``pm`` is the console script next to ``sys.executable``
(``python -m projectmanagement_services.cli`` when there is none); nothing depends on PATH.

``--baseline DIR`` also runs every row against another checkout (``git worktree add`` or ``git
archive`` of an older commit) put first on ``PYTHONPATH``, interleaved with this one: before and
after in one run. ``--importtime`` prints the ten slowest imports of ``pm --help``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from _harness import (
    Checks,
    Deadline,
    Scale,
    Stats,
    TargetVerdict,
    console,
    new_table,
    parse_args,
    print_header,
    print_targets,
)

#: pm --help, issue 15.
HELP_TARGET_MS = 300.0
#: import projectmanagement_services over bare Python, issue 15.
IMPORT_TARGET_MS = 250.0
#: Fresh processes per row in a full run (each costs a whole interpreter start).
FULL_REPETITIONS = 15
#: Every process is killed after this long (a hung child must not hang the benchmark).
PROCESS_TIMEOUT_S = 60.0
#: The whole measurement stops after this long, whatever the repetitions.
RUN_DEADLINE_S = 600.0


@dataclass(frozen=True, slots=True)
class Row:
    """One command line, and what its output must contain for the run to count."""

    name: str
    argv: tuple[str, ...]
    expect: str = ""
    completion: str | None = None  # COMP_LINE: run as the shell's tab completion


def pm_command() -> tuple[str, ...]:
    """The ``pm`` console script beside this interpreter, run by it (no PATH, no shebang)."""
    script = Path(sys.executable).with_name("pm")
    if script.is_file():
        return (sys.executable, str(script))
    return (sys.executable, "-m", "projectmanagement_services.cli")


def rows() -> list[Row]:
    pm = pm_command()
    python = (sys.executable,)
    return [
        Row("bare python -c pass", (*python, "-c", "pass")),
        Row("import projectmanagement_services", (*python, "-c", "import projectmanagement_services")),
        Row("import projectmanagement_core", (*python, "-c", "import projectmanagement_core")),
        Row("pm --help", (*pm, "--help"), expect="usage: pm"),
        Row("pm --version", (*pm, "--version"), expect="pm "),
        Row("pm items create --help", (*pm, "items", "create", "--help"), expect="--title"),
        Row("pm serve --help", (*pm, "serve", "--help"), expect="--max-connections"),
        Row("pm pro<TAB> (argcomplete)", pm, expect="projects", completion="pm pro"),
    ]


def run_once(row: Row, pythonpath: str | None, checks: Checks, label: str) -> float:
    """Wall milliseconds of one fresh process for ``row``; its output is checked."""
    env = {key: value for key, value in os.environ.items() if key != "_ARGCOMPLETE"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (pythonpath, env.get("PYTHONPATH"))))
    answer_file: str | None = None
    if row.completion is not None:
        descriptor, answer_file = tempfile.mkstemp(prefix="pm-completion-")
        os.close(descriptor)
        env |= {
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": "\n",
            "_ARGCOMPLETE_STDOUT_FILENAME": answer_file,
            "COMP_LINE": row.completion,
            "COMP_POINT": str(len(row.completion)),
            "COMP_TYPE": "9",
        }
    start = time.perf_counter()
    completed = subprocess.run(
        row.argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    elapsed_ms = (time.perf_counter() - start) * 1000
    output = completed.stdout
    if answer_file is not None:
        output = Path(answer_file).read_text(encoding="utf-8")
        os.unlink(answer_file)
    checks.expect(
        completed.returncode == 0 and row.expect in output,
        f"{label} {row.name}: exit {completed.returncode}, output {output[:200]!r} {completed.stderr[-300:]!r}",
    )
    return elapsed_ms


def measure(
    table_rows: Sequence[Row], sources: dict[str, str | None], scale: Scale, checks: Checks
) -> dict[tuple[str, str], Stats]:
    """ms per process, every (row, source) once per repetition, interleaved; one warm-up round."""
    deadline = Deadline(RUN_DEADLINE_S)
    for label, path in sources.items():  # warm the OS file cache and .pyc files
        for row in table_rows:
            run_once(row, path, checks, label)
    samples: dict[tuple[str, str], list[float]] = {
        (row.name, label): [] for row in table_rows for label in sources
    }
    for _ in range(scale.repetitions):
        if deadline.expired:
            console.print(f"(stopped early: the {RUN_DEADLINE_S:g} s deadline passed)")
            break
        for row in table_rows:
            for label, path in sources.items():
                samples[(row.name, label)].append(run_once(row, path, checks, label))
    return {key: Stats(tuple(values)) for key, values in samples.items() if values}


def slowest_imports(pythonpath: str | None, count: int = 10) -> list[tuple[int, str]]:
    """The ``count`` largest cumulative import times (us) of ``pm --help``, from ``-X importtime``."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "projectmanagement_services.cli", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    found: list[tuple[int, str]] = []
    for line in completed.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, module = line.split("|")
            found.append((int(cumulative.strip()), module.rstrip()))
    return sorted(found, reverse=True)[:count]


def _extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also measure the checkout in DIR (first on PYTHONPATH), side by side",
    )
    parser.add_argument("--importtime", action="store_true", help="print the slowest imports of pm --help")


def main() -> int:
    args, scale = parse_args("Cold start: import and pm --help, fresh processes side by side.", _extra)
    # Processes, not calls: 15 of each for a full run, 7 quick, 3 smoke (or --repetitions).
    repetitions = FULL_REPETITIONS if scale.name == "full" else scale.repetitions
    scale = Scale(scale.name, repetitions=repetitions, calls=1, warmup=1, factor=scale.factor)
    checks = Checks()
    sources: dict[str, str | None] = {"this checkout": None}
    if args.baseline is not None:
        baseline = Path(args.baseline).resolve()
        checks.expect(
            (baseline / "projectmanagement_services").is_dir(), f"--baseline {baseline}: no package"
        )
        sources = {"baseline": str(baseline), **sources}
    print_header("cold_start", scale, f"pm={' '.join(Path(p).name for p in pm_command())}")
    table_rows = rows()
    results = measure(table_rows, sources, scale, checks)

    columns = ["command"]
    for label in sources:
        columns += [f"{label}: best", "median", "median over bare"]
    table = new_table("Cold start: wall ms of a fresh process", columns)
    for row in table_rows:
        cells = [row.name]
        for label in sources:
            stats = results.get((row.name, label))
            bare = results.get((table_rows[0].name, label))
            if stats is None or bare is None:
                cells += ["-", "-", "-"]
                continue
            over = "" if row is table_rows[0] else f"{stats.median - bare.median:+.0f} ms"
            cells += [f"{stats.minimum:.0f} ms", f"{stats.median:.0f} ms", over]
        table.add_row(*cells)
    console.print(table)

    if args.importtime:
        imports = new_table("pm --help: slowest imports (cumulative, one run)", ["module", "ms"])
        for micros, module in slowest_imports(None):
            imports.add_row(module, f"{micros / 1000:.1f}")
        console.print(imports)

    mine = "this checkout"
    help_ms = results[("pm --help", mine)].median
    over_bare = (
        results[("import projectmanagement_services", mine)].median
        - results[(table_rows[0].name, mine)].median
    )
    print_targets(
        [
            TargetVerdict(
                f"pm --help <= {HELP_TARGET_MS:g} ms", f"{help_ms:.0f} ms (median)", help_ms <= HELP_TARGET_MS
            ),
            TargetVerdict(
                f"import projectmanagement_services <= {IMPORT_TARGET_MS:g} ms over bare python",
                f"{over_bare:+.0f} ms (medians)",
                over_bare <= IMPORT_TARGET_MS,
            ),
        ],
        scale,
    )
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
