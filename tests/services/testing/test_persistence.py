"""SQLite persistence: restart on the same port keeps data; a file survives a new server object."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer, ServerCounters
from projectmanagement_services.testing.request_handler import RequestHandler
from projectmanagement_services.testing.store import SqliteStore
from tests.services.testing.conftest import RawClient, assert_error, make, new_id


async def test_restart_on_the_same_port_keeps_file_data(tmp_path: Path) -> None:
    user = new_id()
    async with PmTestServer(database=tmp_path / "pm.db") as server:
        async with ws_connect(f"{server.url}?user_id={user}") as ws:
            client = RawClient(ws, user)
            project = await client.create_project("KEEP")
            epic = await client.create_item(project.id, item_type=pb.EPIC)
            story = await client.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
            gone = await client.create_item(project.id, title="gone")
            await client.call("delete_work_item_request", work_item_id=gone.id)
            await client.call(
                "update_work_item_request", work_item_id=story.id, expected_version=1, title="kept"
            )
            sprint = await client.create_sprint(project.id)
            create = make("create_work_item_request", project_id=project.id, title="idem", item_type=pb.TASK)
            created, _ = await client.request(create)
        port = server.port
        await server.stop()
        await server.start()
        assert server.port == port
        async with ws_connect(f"{server.url}?user_id={user}") as ws:
            client = RawClient(ws, user)
            listed = (
                await client.call("get_work_items_request", project_id=project.id)
            ).work_items_list.work_items
            assert {i.title for i in listed} == {"item", "kept", "idem"}
            by_id = {i.id: i for i in listed}
            assert (by_id[story.id].version, list(by_id[story.id].ancestor_ids)) == (2, [epic.id])
            assert [
                s.id
                for s in (
                    await client.call("get_sprints_request", project_id=project.id)
                ).sprints_list.sprints
            ] == [sprint.id]
            replay, _ = await client.request(create)  # idempotency keys survive too
            assert replay.SerializeToString() == created.SerializeToString()
            assert_error(await client.call("delete_work_item_request", work_item_id=gone.id), "NOT_FOUND")
            assert (await client.create_item(project.id)).item_number == 5  # numbers keep growing
        assert server.counters.replays_served == 1


async def test_a_new_server_on_the_same_file_sees_the_data(tmp_path: Path) -> None:
    user = new_id()
    async with (
        PmTestServer(database=tmp_path / "pm.db") as server,
        ws_connect(f"{server.url}?user_id={user}") as ws,
    ):
        project = await RawClient(ws, user).create_project("FILE")
    async with PmTestServer(database=tmp_path / "pm.db") as server:
        assert [p.key for p in server.projects()] == ["FILE"]
        async with ws_connect(f"{server.url}?user_id={user}") as ws:
            answer = await RawClient(ws, user).call("list_projects_request")
            assert [p.id for p in answer.project_list.projects] == [project.id]


async def test_memory_database_keeps_data_across_stop_and_start() -> None:
    user = new_id()
    async with PmTestServer() as server:
        async with ws_connect(f"{server.url}?user_id={user}") as ws:
            project = await RawClient(ws, user).create_project()
        await server.stop()
        await server.start()
        assert [p.id for p in server.projects()] == [project.id]


async def test_a_database_of_another_schema_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT)")  # the schema before version 2
    with pytest.raises(RuntimeError, match="schema version 0"):
        SqliteStore(path)


def test_with_hierarchy_agrees_with_the_project_listing() -> None:
    """The indexed walk used for answers gives what the whole-project computation gives."""
    store = SqliteStore(":memory:")
    handler = RequestHandler(store, ServerCounters())
    user = new_id()

    def send(kind: str, **fields: Any) -> pb.WebSocketMessage:
        outcome = handler.handle(user, make(kind, **fields))
        return pb.WebSocketMessage.FromString(outcome.answer)

    project = send("create_project_request", key="TREE", title="t").project_created.project

    def item(item_type: int, parent: str | None = None) -> str:
        fields: dict[str, Any] = {"project_id": project.id, "title": "x", "item_type": item_type}
        if parent is not None:
            fields["parent_id"] = parent
        return send("create_work_item_request", **fields).work_item_created.work_item.id

    epic = item(pb.EPIC)
    stories = [item(pb.STORY, epic) for _ in range(3)]
    for story in stories:
        item(pb.TASK, story)
        item(pb.TASK, story)
    send("update_work_item_request", work_item_id=stories[2], expected_version=1, position=0)
    listed = store.work_items(project.id)
    for listed_item in listed:
        fresh = store.work_item(listed_item.id)
        assert fresh is not None
        alone = store.with_hierarchy(fresh)
        assert list(alone.ancestor_ids) == list(listed_item.ancestor_ids)
        assert list(alone.descendant_ids) == list(listed_item.descendant_ids)
    assert len(next(i for i in listed if i.id == epic).descendant_ids) == 9
