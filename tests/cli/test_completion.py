"""Tab completion through argcomplete, asked the way the shell asks: a ``pm`` subprocess with the
completion variables set, answering on file descriptor 8."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def complete(line: str) -> list[str]:
    """What ``pm`` offers for ``line`` with the cursor at its end."""
    read_end, write_end = os.pipe()
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_IFS": "\n",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
        "COMP_TYPE": "9",
    }
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "projectmanagement_services.cli"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(write_end, 8),  # 8 is made by preexec_fn below; kept open past it
            preexec_fn=lambda: os.dup2(write_end, 8),
        )
    finally:
        os.close(write_end)
    with os.fdopen(read_end) as answer:
        words = answer.read()
    assert process.wait(timeout=30) == 0
    return sorted(word.strip() for word in words.split("\n") if word.strip())


def test_commands_complete() -> None:
    assert complete("pm pro") == ["projects"]
    assert {"demo", "serve", "items", "sprints", "watch", "health", "config"} <= set(complete("pm "))


def test_subcommands_and_flags_complete() -> None:
    assert "create" in complete("pm projects ")
    assert "--title" in complete("pm projects create --t")


def test_without_the_shell_asking_pm_runs_as_usual() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "projectmanagement_services.cli", "--version"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "_ARGCOMPLETE"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("pm ")


def test_the_console_script_carries_argcomplete_s_global_marker() -> None:
    """``activate-global-python-argcomplete`` completes a console script only when its entry module
    starts with the ``PYTHON_ARGCOMPLETE_OK`` marker; argcomplete's own check says whether it does."""
    script = Path(sys.executable).with_name("pm")
    if not script.is_file():
        pytest.skip("no pm console script beside this interpreter (not pip-installed)")
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "argcomplete._check_console_script", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
