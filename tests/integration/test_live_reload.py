"""Live settings reload against the reference server: nothing dropped, new options in force.

The first test drives the reload through ``SettingsMonitor.reload()`` (the watcher's entry point)
while a request is in flight; the second really edits the file and lets ``watchfiles`` notice,
awaiting ``on_reloaded`` under a bounded timeout.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from projectmanagement_core.models import ConnectionStateChange
from projectmanagement_services import create_container, running
from projectmanagement_services.settings_monitor import SettingsReload
from projectmanagement_services.testing import PmTestServer
from tests.support.settings_environment import isolate_settings_sources

LIMIT = 10.0


def write_settings(path: Path, server: PmTestServer, **sections: dict[str, Any]) -> None:
    project_management: dict[str, Any] = {
        "WebSocket": {
            "ServerUrl": server.url,
            "UserId": str(USER),
            "HeartbeatInterval": "00:01:00",
            "HeartbeatTimeout": "00:02:00",
        },
        "CircuitBreaker": {"FailureThreshold": 5},
        "RetryPolicy": {"MaxAttempts": 3},
    }
    for name, values in sections.items():
        project_management.setdefault(name, {}).update(values)
    path.write_text(json.dumps({"ProjectManagement": project_management}), encoding="utf-8")


USER = uuid4()


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings_sources(monkeypatch, tmp_path)


async def test_a_reload_applies_live_without_dropping_the_connection_or_a_pending_request(
    tmp_path: Path,
) -> None:
    path = tmp_path / "appsettings.json"
    async with PmTestServer() as server:
        write_settings(path, server)
        container = create_container(config_path=path)
        async with asyncio.timeout(LIMIT), running(container):
            client = container.client()
            monitor = container.settings_monitor()
            changes: list[ConnectionStateChange] = []
            container.inner_client().on_state_changed.subscribe(changes.append)

            with server.faults.delay_answers(0.3):
                pending = asyncio.create_task(client.list_projects())
                while container.inner_client().pending_count == 0:
                    await asyncio.sleep(0)
                write_settings(
                    path,
                    server,
                    WebSocket={"HeartbeatInterval": "00:00:00.050", "HeartbeatTimeout": "00:00:05"},
                    CircuitBreaker={"FailureThreshold": 2},
                    RetryPolicy={"MaxAttempts": 5},
                )
                result = monitor.reload()
                assert container.inner_client().pending_count == 1  # still waiting, not failed
                assert await pending == []

            assert result is not None
            assert result.restart_required == ()
            assert set(result.applied) == set(result.changed)
            assert container.circuit_breaker().options.failure_threshold == 2
            assert container.retry_policy().options.max_attempts == 5
            assert changes == []  # the connection never dropped
            assert server.counters.handshakes_accepted == 1
            # The heartbeat restarted on the new 50 ms interval (the old one was a minute).
            while server.counters.requests_by_type["ping"] == 0:
                await asyncio.sleep(0.01)
            assert changes == []


async def test_editing_the_file_is_noticed_by_the_watcher_and_applied(tmp_path: Path) -> None:
    path = tmp_path / "appsettings.json"
    async with PmTestServer() as server:
        write_settings(path, server, Settings={"ReloadOnChange": True})
        container = create_container(config_path=path)
        async with asyncio.timeout(LIMIT), running(container):
            monitor = container.settings_monitor()
            assert monitor.is_watching
            reloaded: asyncio.Queue[SettingsReload] = asyncio.Queue()
            monitor.on_reloaded.subscribe(reloaded.put_nowait)
            await container.client().list_projects()

            # Saved as editors do: a new file renamed over the old one.
            replacement = tmp_path / "appsettings.json.tmp"
            write_settings(
                replacement, server, Settings={"ReloadOnChange": True}, RetryPolicy={"MaxAttempts": 7}
            )
            replacement.replace(path)

            result = await reloaded.get()
            assert result.changed == ("ProjectManagement:RetryPolicy:MaxAttempts",)
            assert container.retry_policy().options.max_attempts == 7
            assert await container.client().list_projects() == []
            assert server.counters.handshakes_accepted == 1
        assert not monitor.is_watching
