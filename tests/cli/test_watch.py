"""``pm watch`` as a real process: events from another client arrive, a drop is survived, SIGINT exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import timedelta

from projectmanagement_core.models import CreateProjectRequest, CreateWorkItemRequest, WorkItemType
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket.client import WebSocketClient
from projectmanagement_services.websocket.options import WebSocketOptions
from tests.cli.conftest import ROOT


async def _read_until(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> str:
    while True:
        line = (await stream.readline()).decode()
        if not line:
            raise AssertionError(f"pm watch ended before printing {needle!r}: {seen}")
        seen.append(line)
        if needle in line:
            return line


async def test_watch_prints_events_through_a_reconnect_and_exits_0_on_sigint(server: PmTestServer) -> None:
    user_id = uuid.uuid4()
    options = WebSocketOptions(server_url=server.url, user_id=user_id, request_timeout=timedelta(seconds=5))
    async with WebSocketClient(options) as writer:
        project = await writer.create_project(CreateProjectRequest(key="WATCH", title="watched"))
        env = {
            **os.environ,
            # Settings from environment variables, as in production: reconnect quickly for the test.
            "ProjectManagement__Reconnection__InitialDelay": "0.05",
            "PYTHONUNBUFFERED": "1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "projectmanagement_services.cli", "watch", "--project", str(project.id),
            "--server-url", server.url, "--user-id", str(user_id),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        seen: list[str] = []
        try:
            async with asyncio.timeout(30):
                await _read_until(process.stdout, "watching project", seen)
                await writer.create_work_item(
                    CreateWorkItemRequest(
                        project_id=project.id, item_type=WorkItemType.TASK, title="seen live"
                    )
                )
                line = await _read_until(process.stdout, "seen live", seen)
                assert "[server] work item added" in line

                await server.faults.drop_all()
                await _read_until(process.stdout, "connection lost", seen)
                await _read_until(process.stdout, "reconnected after", seen)
                await writer.connect()  # the writer (no reconnection service) was dropped too
                await writer.create_work_item(
                    CreateWorkItemRequest(
                        project_id=project.id, item_type=WorkItemType.TASK, title="after drop"
                    )
                )
                await _read_until(process.stdout, "after drop", seen)

                process.send_signal(signal.SIGINT)
                rest, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    assert "stopped" in rest.decode()
    assert "Traceback" not in err.decode()


async def test_watch_prints_one_line_per_outage_with_the_next_delay_and_no_duplicate_logs_in_json(
    server: PmTestServer,
) -> None:
    import json

    user_id = uuid.uuid4()
    async with WebSocketClient(WebSocketOptions(server_url=server.url, user_id=user_id)) as writer:
        project = await writer.create_project(CreateProjectRequest(key="OUTAGE", title="watched"))
    env = {
        **os.environ,
        "ProjectManagement__Reconnection__InitialDelay": "0.05",
        "ProjectManagement__Reconnection__MaxDelay": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "projectmanagement_services.cli", "--json", "watch", "--project", str(project.id),
        "--server-url", server.url, "--user-id", str(user_id),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            await _read_until(process.stdout, '"watching"', seen)
            await server.stop()
            await _read_until(process.stdout, '"Reconnecting"', seen)
            # Several attempts fail while the server is down (0.05 s, then up to 0.2 s apart).
            await asyncio.sleep(1.0)
            await server.start()
            await _read_until(process.stdout, '"reconnected"', seen)
            process.send_signal(signal.SIGINT)
            rest, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    events = [json.loads(line) for line in [*seen, *rest.decode().splitlines()] if line.strip()]
    lost = [e for e in events if e.get("state") == "Reconnecting"]
    assert len(lost) == 1  # one line for the outage, not one per failed attempt
    assert 0 < lost[0]["next_retry_seconds"] <= 0.2
    (reconnected,) = [e for e in events if e["event"] == "reconnected"]
    assert reconnected["attempts"] > 1
    assert err.decode() == ""  # the outage is the event above, not also a log line
