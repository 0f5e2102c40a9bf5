"""Every benchmark script runs end to end with tiny counts, so the scripts never rot.

Each script runs as a subprocess with ``--smoke`` (a tiny, bounded run whose numbers mean nothing)
and must exit 0 (its correctness checks passed), print its table header and report its checks.
No figure is asserted: benchmarks are not tests of speed. Peers of the optional ``bench`` extra
may be missing (CI installs ``.[dev]`` only): the scripts skip them with a printed note.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

#: script -> (table header it must print, timeout in seconds)
SCRIPTS = {
    "resilience_overhead.py": ("Success-path cost per call", 60),
    "client_throughput.py": ("Throughput, operations per second", 90),
    "recovery.py": ("Recovery: server back", 60),
    "chaos_soak.py": ("Chaos soak: correctness checks", 90),
    "cold_start.py": ("Cold start: wall ms of a fresh process", 120),
    "resync_landing.py": ("project: client CPU and longest loop stall", 90),
}


#: Makes the peers of the ``bench`` extra unimportable, as in CI where only ``.[dev]`` is installed.
BLOCK_PEERS = """
import sys

class _BlockPeers:
    names = {"tenacity", "stamina", "backoff", "purgatory", "aiobreaker", "circuitbreaker", "psutil"}

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the smoke test)", name=name)
        return None

sys.meta_path.insert(0, _BlockPeers())
"""


def run_smoke(
    script: str, timeout: float, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning", **(extra_env or {})}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCHMARKS.parent,
        env=env,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_script_runs_with_smoke_counts(script: str) -> None:
    header, timeout = SCRIPTS[script]
    result = run_smoke(script, timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert header in result.stdout, output
    assert re.search(r"correctness checks: [1-9][0-9]* passed, 0 failed", result.stdout), output
    assert "Traceback" not in result.stderr, output
    assert "never retrieved" not in output, output


@pytest.mark.slow
def test_overhead_script_skips_missing_peers_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_PEERS, encoding="utf-8")
    result = run_smoke("resilience_overhead.py", 60, {"PYTHONPATH": str(tmp_path)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for peer in ("tenacity", "stamina", "backoff", "purgatory", "aiobreaker", "circuitbreaker"):
        assert f"note: peer {peer!r} is not installed" in result.stdout, output
    assert "breaker(retry(op)), telemetry off" in result.stdout, output


def test_readme_documents_every_script() -> None:
    readme = (BENCHMARKS / "README.md").read_text(encoding="utf-8")
    for script in SCRIPTS:
        assert f"python benchmarks/{script}" in readme, script
    assert "pip install -e '.[bench]'" in readme
