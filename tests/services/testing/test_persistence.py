"""SQLite persistence: restart on the same port keeps data; a file survives a new server object."""

from __future__ import annotations

from pathlib import Path

from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
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
