"""Fixtures for the ``pm`` command: a real PmTestServer on loopback, and ``pm`` run in a worker thread.

``main()`` runs its own ``asyncio.run``, so tests call it through ``asyncio.to_thread`` while the
server keeps serving on the test's event loop; capsys sees everything the command prints.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from projectmanagement_services.cli import main
from projectmanagement_services.testing import PmTestServer

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer(host="127.0.0.1", port=0) as running:
        yield running


@pytest.fixture
def user_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def pm(server: PmTestServer, user_id: str, capsys: pytest.CaptureFixture[str]) -> Any:
    """``await pm("items", "list", ...)``: run ``pm`` against the server as ``user_id``."""

    async def run(*args: str, connect: bool = True) -> Result:
        capsys.readouterr()
        extra = ["--server-url", server.url, "--user-id", user_id] if connect else []
        code = await asyncio.to_thread(main, [*args, *extra])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_pm_process(*args: str, timeout: float, env: dict[str, str] | None = None) -> Result:
    """``python -m projectmanagement_services.cli ARGS`` as a real process, bounded in time."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectmanagement_services.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())
