"""``pm projects update|delete``, clearing a field with ``none``, and pm-server's quirks at the prompt."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from projectmanagement_services.testing import PmTestServer
from tests.cli.conftest import Result
from tests.support.upstream_like_server import USER, upstream_like_server


async def _project(pm: Any, key: str = "PM") -> dict[str, Any]:
    result = await pm("projects", "create", "--key", key, "--title", f"{key} project", "--json")
    assert result.code == 0, result.err
    return result.json()


async def test_projects_update_then_delete_read_the_version_first(pm: Any, server: PmTestServer) -> None:
    project = await _project(pm)
    updated = await pm(
        "projects", "update", project["id"], "--title", "Renamed", "--status", "archived", "--json"
    )
    assert updated.code == 0, updated.err
    assert (updated.json()["title"], updated.json()["status"], updated.json()["version"]) == (
        "Renamed",
        "Archived",
        2,
    )
    stale = await pm("projects", "update", project["id"], "--title", "Again", "--version", "1")
    assert (stale.code, len(stale.err.strip().splitlines())) == (1, 1)
    assert "CONFLICT" in stale.err

    deleted = await pm("projects", "delete", project["id"], "--json")
    assert deleted.code == 0, deleted.err
    assert deleted.json() == {"deleted": project["id"]}
    assert (await pm("projects", "list", "--json")).json() == []


async def test_projects_update_without_a_field_is_a_usage_error(pm: Any) -> None:
    result = await pm("projects", "update", str(uuid.uuid4()), connect=False)
    assert result.code == 2
    assert "--title, --description, --status" in result.err


@pytest.mark.parametrize(
    ("key", "title"),
    [("A", "ok"), ("P-M", "ok"), ("K" * 21, "ok"), ("PM", "t" * 201)],
    ids=["key-too-short", "key-hyphen", "key-too-long", "title-too-long"],
)
async def test_projects_create_refuses_what_pm_server_refuses_before_sending(
    pm: Any, server: PmTestServer, key: str, title: str
) -> None:
    result = await pm("projects", "create", "--key", key, "--title", title)
    assert result.code == 1
    assert result.err.startswith("pm: invalid request: ")
    assert server.projects() == []


async def test_items_update_clears_assignee_and_sprint_with_none(pm: Any, server: PmTestServer) -> None:
    project = await _project(pm)
    item = (await pm("items", "create", "--project", project["id"], "--title", "T", "--json")).json()
    someone = str(uuid.uuid4())
    server.add_user(someone)  # pm-server's users table: an unknown assignee is a DATABASE_ERROR
    assigned = await pm("items", "update", item["id"], "--assignee", someone, "--json")
    assert assigned.code == 0, assigned.err
    assert assigned.json()["assignee_id"] == someone

    cleared = await pm("items", "update", item["id"], "--assignee", "none", "--json")
    assert cleared.code == 0, cleared.err
    assert cleared.json()["assignee_id"] is None
    [stored] = server.work_items(uuid.UUID(project["id"]))
    assert not stored.HasField("assignee_id")


async def test_a_bad_id_for_a_clearable_option_is_a_usage_error(pm: Any) -> None:
    result = await pm("items", "update", str(uuid.uuid4()), "--sprint", "nope", connect=False)
    assert result.code == 2
    assert "or 'none' to clear" in result.err


async def test_blocked_is_refused_at_the_prompt_naming_the_quirk(pm: Any) -> None:
    result = await pm("items", "update", str(uuid.uuid4()), "--status", "blocked", "--version", "1")
    assert result.code == 1
    assert "DATABASE_ERROR" in result.err


async def test_an_update_pm_server_drops_exits_1_naming_the_dropped_field(
    pm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from projectmanagement_services.cli import main

    async with upstream_like_server() as upstream:
        capsys.readouterr()
        args = ["items", "update", upstream.item.id, "--priority", "high", "--version", "1"]
        code = await asyncio.to_thread(main, [*args, "--server-url", upstream.url, "--user-id", USER])
        captured = capsys.readouterr()
    result = Result(code, captured.out, captured.err)
    assert result.code == 1
    assert "did not store priority" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert upstream.item.priority == "medium"


async def test_items_update_parent_none_moves_the_item_to_the_top_level(
    pm: Any, server: PmTestServer
) -> None:
    project = await _project(pm)
    epic = (
        await pm("items", "create", "--project", project["id"], "--title", "E", "--type", "epic", "--json")
    ).json()
    story = await pm(
        "items",
        "create",
        "--project",
        project["id"],
        "--title",
        "S",
        "--type",
        "story",
        "--parent",
        epic["id"],
        "--json",
    )
    assert story.json()["parent_id"] == epic["id"]

    moved = await pm("items", "update", story.json()["id"], "--parent", "none", "--json")
    assert moved.code == 0, moved.err
    assert moved.json()["parent_id"] is None


async def test_projects_delete_with_a_version_below_1_is_a_usage_error(pm: Any) -> None:
    result = await pm("projects", "delete", str(uuid.uuid4()), "--version", "0", connect=False)
    assert result.code == 2
    assert "--version must be >= 1" in result.err
