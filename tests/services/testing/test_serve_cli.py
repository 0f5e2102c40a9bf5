"""``pm serve`` as a real subprocess: it listens, serves raw clients, and exits 0 on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from projectmanagement_services.cli import build_parser, main
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import RawClient

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process, line = await _start_announced(*args)
    return process, line.split()[-1]


async def _start_announced(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """``pm serve ARGS`` and its announcement line (the URL is its last word)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectmanagement_services.cli",
        "serve",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(15):
        line = (await process.stdout.readline()).decode()
    assert line.startswith("pm serve: data "), line
    assert " listening on ws://" in line, line
    return process, line


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_pm_serve_serves_and_stops_cleanly_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    port = _free_port()
    database = tmp_path / "serve.db"
    process, url = await _start(
        "--port", str(port), "--database", str(database), "--token", "t0k", "--log-level", "debug"
    )
    try:
        assert url == f"ws://127.0.0.1:{port}/ws"
        with pytest.raises(InvalidStatus) as caught:
            await ws_connect(url)
        assert caught.value.response.status_code == 401
        async with ws_connect(url, additional_headers={"Authorization": "Bearer t0k"}) as ws:
            project = await RawClient(ws, "?").create_project("SERVE")
        process.send_signal(sig)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        log = stderr.decode()
        assert "connection open" in log  # debug: one line per connection
        assert "request create_project_request" in log  # and per request
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with PmTestServer(database=database) as server:  # the file kept what was served
        assert [p.id for p in server.projects()] == [project.id]


def test_cli_has_a_serve_subcommand_with_its_options() -> None:
    args = build_parser().parse_args(["serve", "--host", "127.0.0.2", "--port", "0", "--database", "x.db"])
    assert (args.command, args.host, args.port, args.database, args.token) == (
        "serve",
        "127.0.0.2",
        0,
        "x.db",
        None,
    )


def test_cli_without_a_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


async def test_pm_serve_announces_itself_once_and_says_where_its_data_lives(tmp_path: Path) -> None:
    database = tmp_path / "pm.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "projectmanagement_services.cli", "serve", "--port", "0", "--database", str(database),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    async with asyncio.timeout(15):
        line = (await process.stdout.readline()).decode()
    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(15):
        rest, err = await process.communicate()
    assert line.startswith(
        f"pm serve: data in {database.resolve()}; rate limit 100 then 1 per 60 s; listening on ws://127.0.0.1:"
    ), line
    everything = line + rest.decode() + err.decode()
    assert everything.count("listening") == 1, everything


async def _serve_fails(*args: str) -> tuple[int, str, str]:
    """``pm serve ARGS`` as a subprocess that is expected to exit at once: (code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectmanagement_services.cli",
        "serve",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_pm_serve_on_a_port_in_use_is_one_line_naming_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = await _serve_fails("--port", str(port))
    assert code == 1
    assert (
        err
        == f"pm: serve: 127.0.0.1:{port} is already in use (choose another --port, or --port 0 for a free one)\n"
    )
    assert out == ""  # no announcement, no "stopped"


@pytest.mark.parametrize("port", ["65536", "99999", "-1"])
async def test_pm_serve_with_an_out_of_range_port_is_a_usage_error(port: str) -> None:
    code, _, err = await _serve_fails("--port", port)
    assert code == 2
    assert err == f"pm: serve: --port must be 0-65535 (got {port})\n"


async def test_pm_serve_with_an_unopenable_database_is_a_usage_error(tmp_path: Path) -> None:
    database = tmp_path / "no such folder" / "pm.db"
    code, _, err = await _serve_fails("--port", "0", "--database", str(database))
    assert code == 2
    assert err == f"pm: serve: cannot open --database {database}: unable to open database file\n"
