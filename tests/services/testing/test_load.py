"""Load: 200 concurrent raw clients on loopback, each creating 50 items; all answered, none lost."""

from __future__ import annotations

import asyncio
from collections import Counter

from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import RawClient, make, new_id

CLIENTS = 200
ITEMS_EACH = 50
PROJECTS = 20


async def _run_client(server: PmTestServer, user: str, project_id: str) -> list[pb.WebSocketMessage]:
    async with ws_connect(f"{server.url}?user_id={user}", ping_interval=None) as ws:
        client = RawClient(ws, user)
        requests = [
            make(
                "create_work_item_request", project_id=project_id, title=f"{user[:8]}-{i}", item_type=pb.TASK
            )
            for i in range(ITEMS_EACH)
        ]
        for request in requests:  # pipelined: the server must keep them in order
            await client.send(request)
        # No per-frame timeout here: under load one answer may wait long; the whole test is bounded.
        answers = [pb.WebSocketMessage.FromString(await ws.recv(decode=False)) for _ in requests]
        assert [a.message_id for a in answers] == [r.message_id for r in requests]
        return answers


async def test_two_hundred_clients_each_create_fifty_items() -> None:
    async with PmTestServer() as server:
        owner = new_id()
        async with ws_connect(f"{server.url}?user_id={owner}") as ws:
            admin = RawClient(ws, owner)
            projects = [await admin.create_project() for _ in range(PROJECTS)]
        users = [new_id() for _ in range(CLIENTS)]
        for index, user in enumerate(users):
            server.add_member(projects[index % PROJECTS].id, user)
        server.counters.reset()
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(_run_client(server, user, projects[i % PROJECTS].id) for i, user in enumerate(users))
            )
        answers = [answer for result in results for answer in result]
        assert Counter(a.WhichOneof("payload") for a in answers) == {
            "work_item_created": CLIENTS * ITEMS_EACH
        }
        assert server.counters.creates_applied == CLIENTS * ITEMS_EACH
        assert server.counters.requests_by_type["create_work_item_request"] == CLIENTS * ITEMS_EACH
        for project in projects:
            stored = server.work_items(project.id)
            assert len(stored) == CLIENTS // PROJECTS * ITEMS_EACH
            numbers = sorted(item.item_number for item in stored)
            assert numbers == list(range(1, len(stored) + 1))  # unique per project despite concurrency
        assert {a.work_item_created.work_item.id for a in answers} == {
            item.id for project in projects for item in server.work_items(project.id)
        }
