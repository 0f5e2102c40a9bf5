"""Projects by key and items by number (``--project PM``, ``PM-4``), ``items show``, ``sprints delete``,
case-insensitive enums, and request errors that name the flag (issue 16)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from projectmanagement_services.cli import build_parser
from projectmanagement_services.testing import PmTestServer


async def _setup(pm: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    project = await pm("projects", "create", "--key", "PM", "--title", "p", "--json")
    assert project.code == 0, project.err
    item = await pm("items", "create", "--project", "pm", "--title", "first", "--type", "story", "--json")
    assert item.code == 0, item.err
    return project.json(), item.json()


async def test_a_project_is_addressed_by_key_and_an_item_by_number(pm: Any, server: PmTestServer) -> None:
    project, item = await _setup(pm)
    assert item["project_id"] == project["id"]
    second = await pm("items", "create", "--project", "PM", "--title", "child", "--parent", "PM-1", "--json")
    assert second.code == 0, second.err
    assert second.json()["parent_id"] == item["id"]
    assert second.json()["item_number"] == 2

    updated = await pm("items", "update", "PM-2", "--status", "IN_PROGRESS", "--priority", "High", "--json")
    assert updated.code == 0, updated.err
    assert (updated.json()["status"], updated.json()["priority"]) == ("in_progress", "high")

    shown = await pm("items", "show", "PM-2", "--json")
    assert shown.code == 0, shown.err
    assert shown.json()["title"] == "child"
    assert shown.json()["status"] == "in_progress"

    listed = await pm("items", "list", "--project", "PM", "--json")
    assert [i["item_number"] for i in listed.json()] == [1, 2]

    deleted = await pm("items", "delete", "PM-2", "--json")
    assert deleted.code == 0, deleted.err
    assert deleted.json() == {"deleted": second.json()["id"]}


async def test_an_unknown_key_or_number_is_one_line_exit_1(pm: Any) -> None:
    await _setup(pm)
    missing_project = await pm("items", "list", "--project", "NOPE")
    assert missing_project.code == 1
    assert missing_project.err.strip() == "pm: no project with key NOPE (see pm projects list)"
    missing_item = await pm("items", "show", "PM-99")
    assert missing_item.code == 1
    assert missing_item.err.strip() == "pm: no work item PM-99 (see pm items list --project PM)"


@pytest.mark.parametrize("value", ["a", "P-M-", "x" * 30])
async def test_a_malformed_project_reference_is_a_usage_error(pm: Any, value: str) -> None:
    result = await pm("items", "list", "--project", value, connect=False)
    assert result.code == 2
    assert "not a project id or key" in result.err


async def test_sprints_are_created_in_a_project_by_key_and_deleted(pm: Any, server: PmTestServer) -> None:
    project, _ = await _setup(pm)
    created = await pm(
        "sprints", "create", "--project", "PM", "--name", "S1", "--start", "2030-01-06", "--end", "2030-01-20",
        "--json",
    )  # fmt: skip
    assert created.code == 0, created.err
    deleted = await pm("sprints", "delete", created.json()["id"], "--json")
    assert deleted.code == 0, deleted.err
    assert (await pm("sprints", "list", "--project", "PM", "--json")).json() == []
    assert server.sprints(uuid.UUID(project["id"])) == []  # live sprints only
    assert len(server.sprints(uuid.UUID(project["id"]), include_deleted=True)) == 1


async def test_a_request_error_names_the_flag_not_the_field(pm: Any) -> None:
    result = await pm(
        "items", "update", str(uuid.uuid4()), "--title", "t", "--version", "0", "--points", "500"
    )
    assert result.code == 1
    assert "--version:" in result.err
    assert "--points:" in result.err
    assert "expected_version" not in result.err
    assert "story_points" not in result.err


def _all_parsers(parser: Any, path: str = "pm") -> list[tuple[str, Any]]:
    found = [(path, parser)]
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                found.extend(_all_parsers(sub, f"{path} {name}"))
    return found


def test_every_flag_has_help_and_every_client_command_an_example() -> None:
    missing = []
    for path, parser in _all_parsers(build_parser()):
        missing.extend(
            f"{path} {action.option_strings or action.dest}"
            for action in parser._actions
            if not action.help and action.__class__.__name__ != "_SubParsersAction"
        )
        leaf = not any(a.__class__.__name__ == "_SubParsersAction" for a in parser._actions)
        if leaf and path != "pm":
            assert "Example: pm " in (parser.description or ""), path
    assert missing == []
