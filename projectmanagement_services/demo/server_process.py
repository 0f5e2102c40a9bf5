"""The reference server in a child process, driven by one JSON command a line on stdin/stdout."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, Final

from projectmanagement_core.exceptions import (
    ErrorCode,
)
from projectmanagement_services.demo.faults import DEMO_RATE_LIMIT_BURST, DEMO_RATE_LIMIT_PERIOD_S

_COMMAND_TIMEOUT_S: Final = 30.0


class ServerProcess:
    """A ``PmTestServer`` on a file database in a child process, driven by JSON commands.

    Commands (``await server.command(op, **args)``): ``drop``, ``restart`` (``down_s``),
    ``swallow`` (``n``), ``fail`` (``n``), ``malformed``, ``clear``, ``items`` (``project_id``),
    ``counters``. One command runs at a time, in order.
    """

    def __init__(self, database: Path, stderr_path: Path, *, rate_limited: bool = True) -> None:
        self._database = database
        self._rate_limited = rate_limited
        self._stderr_path = stderr_path
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self.url = ""

    async def start(self) -> None:
        with self._stderr_path.open("ab") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "projectmanagement_services.demo",
                "--control-server",
                str(self._database),
                *([] if self._rate_limited else ["--no-rate-limit"]),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        reply = await self._read()
        self.url = str(reply["url"])

    async def command(self, op: str, **args: Any) -> dict[str, Any]:
        async with self._lock:
            process = self._require()
            assert process.stdin is not None
            process.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
            await process.stdin.drain()
            reply = await self._read()
        if "error" in reply:
            raise RuntimeError(f"server command {op!r} failed: {reply['error']}")
        return reply

    async def _read(self) -> dict[str, Any]:
        process = self._require()
        assert process.stdout is not None
        async with asyncio.timeout(_COMMAND_TIMEOUT_S):
            line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server process exited (see {self._stderr_path})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("the server process is not started")
        return self._process

    async def aclose(self) -> int | None:
        """Stop the child (EOF on its stdin); kill it if it does not exit. Returns its exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.stdin is not None:
            process.stdin.close()
        try:
            async with asyncio.timeout(10):
                return await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
            return None


async def control_server(database: str, rate_limited: bool = True) -> None:
    """Child side of ``ServerProcess``: serve, and apply one command per stdin line."""
    from projectmanagement_services.testing import PmTestServer, RateLimit

    limit = RateLimit(DEMO_RATE_LIMIT_BURST, DEMO_RATE_LIMIT_PERIOD_S) if rate_limited else None
    server = PmTestServer(database=database, rate_limit=limit)
    await server.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"url": server.url}), flush=True)
    try:
        while line := await reader.readline():
            command = json.loads(line)
            try:
                reply = await _apply(server, command)
            except Exception as exc:  # reported to the parent, which decides
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        await server.stop()


async def _apply(server: Any, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    faults = server.faults
    if op == "drop":
        await faults.drop_all()
    elif op == "restart":
        await server.stop()
        await asyncio.sleep(float(command["down_s"]))
        await server.start()
    elif op == "swallow":
        faults.swallow_answers(int(command["n"]))
    elif op == "fail":
        faults.fail_requests(
            int(command["n"]), code=ErrorCode.SERVICE_UNAVAILABLE, message="Retry after 1 seconds"
        )
    elif op == "malformed":
        await faults.send_malformed()
    elif op == "clear":
        faults.clear()
    elif op == "items":
        items = server.work_items(command["project_id"])
        return {"items": {item.id: item.version for item in items}}
    elif op == "counters":
        counters = server.counters
        return {
            "creates_applied": counters.creates_applied,
            "replays_served": counters.replays_served,
            "handshakes_accepted": counters.handshakes_accepted,
            "rate_limited": counters.rate_limited,
            "rate_limit_closes": counters.rate_limit_closes,
        }
    else:
        raise ValueError(f"unknown command {op!r}")
    return {"ok": True}
