"""``pm projects|items|sprints`` against a real PmTestServer: what they print, send and refuse."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from projectmanagement_services.testing import PmTestServer
from tests.cli.conftest import free_port


async def _project(pm: Any, key: str = "PM") -> dict[str, Any]:
    result = await pm("projects", "create", "--key", key, "--title", f"{key} project", "--json")
    assert result.code == 0, result.err
    return result.json()


async def test_projects_create_then_list_as_json_and_table(pm: Any, server: PmTestServer) -> None:
    created = await _project(pm)
    assert (created["key"], created["title"], created["version"]) == ("PM", "PM project", 1)
    assert [p.id for p in server.projects()] == [created["id"]]

    listed = await pm("projects", "list", "--json")
    assert listed.code == 0
    assert [p["id"] for p in listed.json()] == [created["id"]]

    table = await pm("projects", "list")
    assert table.code == 0
    assert created["id"] in table.out
    assert "PM project" in table.out


async def test_items_create_list_update_delete(pm: Any, server: PmTestServer) -> None:
    project = await _project(pm)
    created = await pm(
        "items",
        "create",
        "--project",
        project["id"],
        "--title",
        "Fix login",
        "--type",
        "story",
        "--priority",
        "high",
        "--json",
    )
    assert created.code == 0, created.err
    item = created.json()
    assert (item["title"], item["item_type"], item["priority"], item["version"]) == (
        "Fix login",
        "Story",
        "high",
        1,
    )

    listed = await pm("items", "list", "--project", project["id"], "--json")
    assert [i["id"] for i in listed.json()] == [item["id"]]
    table = await pm("items", "list", "--project", project["id"])
    assert "Fix login" in table.out
    assert item["id"] in table.out

    # Without --version the current version is read first; with a stale one the server says CONFLICT.
    updated = await pm(
        "items", "update", item["id"], "--status", "in_progress", "--title", "Fix login!", "--json"
    )
    assert updated.code == 0, updated.err
    assert (updated.json()["status"], updated.json()["title"], updated.json()["version"]) == (
        "in_progress",
        "Fix login!",
        2,
    )
    stale = await pm("items", "update", item["id"], "--status", "done", "--version", "1")
    assert stale.code == 1
    assert "CONFLICT" in stale.err
    assert len(stale.err.strip().splitlines()) == 1

    deleted = await pm("items", "delete", item["id"], "--json")
    assert deleted.code == 0
    assert deleted.json() == {"deleted": item["id"]}
    assert server.work_items(uuid.UUID(project["id"])) == []
    assert (await pm("items", "list", "--project", project["id"], "--json")).json() == []


async def test_sprints_create_list_update(pm: Any) -> None:
    project = await _project(pm)
    # pm-server takes sprint dates within a year back .. five years ahead of now.
    start = (datetime.now(UTC) + timedelta(days=7)).date()
    created = await pm(
        "sprints",
        "create",
        "--project",
        project["id"],
        "--name",
        "Sprint 1",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(days=14)).isoformat(),
        "--goal",
        "ship",
        "--json",
    )
    assert created.code == 0, created.err
    sprint = created.json()
    assert (sprint["name"], sprint["status"], sprint["start_date"]) == (
        "Sprint 1",
        "Planned",
        f"{start.isoformat()}T00:00:00Z",
    )

    listed = await pm("sprints", "list", "--project", project["id"], "--json")
    assert [s["id"] for s in listed.json()] == [sprint["id"]]

    started = await pm(
        "sprints", "update", sprint["id"], "--status", "active", "--project", project["id"], "--json"
    )
    assert started.code == 0, started.err
    assert (started.json()["status"], started.json()["version"]) == ("Active", 2)
    table = await pm("sprints", "list", "--project", project["id"])
    assert "Sprint 1" in table.out
    assert "Active" in table.out


async def test_unknown_project_is_one_line_and_exit_1(pm: Any) -> None:
    result = await pm("items", "list", "--project", str(uuid.uuid4()))
    assert result.code == 1
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pm: ")
    assert "NOT_FOUND" in lines[0] or "UNAUTHORIZED" in lines[0]


async def test_invalid_title_is_refused_before_anything_is_sent(pm: Any, server: PmTestServer) -> None:
    project = await _project(pm)
    handshakes = server.counters.handshakes_accepted
    result = await pm("items", "create", "--project", project["id"], "--title", "x" * 201, "--status", "nope")
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert "title" in lines[0]
    assert "201" in lines[0]
    assert "status" in lines[0]
    assert server.counters.requests_by_type["create_work_item_request"] == 0
    assert server.counters.handshakes_accepted == handshakes  # not even a connection was opened
    assert server.work_items(uuid.UUID(project["id"])) == []


async def test_update_with_nothing_to_change_is_a_usage_error(pm: Any) -> None:
    result = await pm("items", "update", str(uuid.uuid4()))
    assert result.code == 2
    assert "nothing to update" in result.err


async def test_unreachable_server_is_one_line_exit_3(pm: Any) -> None:
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    result = await pm("projects", "list", "--server-url", url, "--user-id", str(uuid.uuid4()), connect=False)
    assert result.code == 3
    lines = result.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0] == f"pm: cannot connect to {url}: connection refused (is the server running?)"
    assert "Traceback" not in result.err + result.out


async def test_bad_settings_name_their_key_path_and_flag(pm: Any) -> None:
    result = await pm(
        "projects", "list", "--server-url", "http://nowhere", "--user-id", "not-a-uuid", connect=False
    )
    assert result.code == 2
    assert "ProjectManagement:WebSocket:ServerUrl" in result.err
    assert "--server-url" in result.err
    assert "ProjectManagement:WebSocket:UserId" in result.err
    assert "--user-id" in result.err
    assert len(result.err.strip().splitlines()) == 1


async def test_settings_come_from_the_config_file_and_environment_file(
    pm: Any, server: PmTestServer, user_id: str, tmp_path: Path
) -> None:
    base = tmp_path / "appsettings.json"
    base.write_text(json.dumps({"ProjectManagement": {"WebSocket": {"ServerUrl": "ws://127.0.0.1:1/ws"}}}))
    staging = tmp_path / "appsettings.Staging.json"
    staging.write_text(
        json.dumps({"ProjectManagement": {"WebSocket": {"ServerUrl": server.url, "UserId": user_id}}})
    )
    result = await pm(
        "projects",
        "create",
        "--key",
        "CFG",
        "--title",
        "from files",
        "--config",
        str(base),
        "--environment",
        "Staging",
        "--json",
        connect=False,
    )
    assert result.code == 0, result.err
    assert result.json()["created_by"] == user_id


async def test_token_comes_from_pm_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from projectmanagement_services.cli import main

    async with PmTestServer(auth_token="s3cret") as secured:
        monkeypatch.setenv("PM_TOKEN", "s3cret")
        assert await asyncio.to_thread(main, ["projects", "list", "--server-url", secured.url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []

        code = await asyncio.to_thread(
            main, ["projects", "list", "--server-url", secured.url, "--token", "wrong"]
        )
        err = capsys.readouterr().err
        assert code == 1  # refused, not unreachable
        assert err.strip() == (
            f"pm: {secured.url} refused the token (HTTP 401): give one with --token or $PM_TOKEN, "
            "or the settings' WebSocket:AuthToken"
        )
        assert "wrong" not in err


async def test_global_options_work_before_the_command_too(
    pm: Any, server: PmTestServer, user_id: str
) -> None:
    result = await pm(
        "--server-url", server.url, "--user-id", user_id, "projects", "create", "--key", "GO", "--title", "g",
        connect=False,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [p.key for p in server.projects()] == ["GO"]


async def test_unreachable_server_from_a_real_process_prints_no_traceback() -> None:
    from tests.cli.conftest import run_pm_process

    url = f"ws://127.0.0.1:{free_port()}/ws"
    result = await run_pm_process("health", "--server-url", url, timeout=30)
    assert result.code == 3
    assert result.out == ""
    assert result.err.strip().splitlines() == [result.err.strip()]
    assert result.err.startswith(f"pm: cannot connect to {url}")
    assert "Traceback" not in result.err
