"""Issue 14: a hostile server's broadcast flood leaves the stores' memory bounded (raw protocol).

Deletions of ids nobody held and creations in projects this connection never subscribed to are
flooded (bounded counts) over a real socket; the stores keep at most what they can need.
"""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from websockets.asyncio.server import ServerConnection

from projectmanagement_core import converters
from projectmanagement_core.models import WorkItem
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.state.versioned_map import DEFAULT_UNKNOWN_DELETIONS_LIMIT, VersionedEntityMap
from projectmanagement_services.websocket import WebSocketClient
from tests.services.websocket.fakes import envelope, make_sprint, make_work_item, options
from tests.services.websocket.hostile_server import HostileServer

LIMIT = 30.0
SUBSCRIBED = UUID("33333333-3333-4333-8333-333333333333")
OTHER = UUID("44444444-4444-4444-8444-444444444444")
FLOOD = 5 * DEFAULT_UNKNOWN_DELETIONS_LIMIT
USER = str(uuid4())


async def flood_on_ping(request: pb.WebSocketMessage, ws: ServerConnection) -> None:
    reply = envelope(request.message_id)
    if request.WhichOneof("payload") == "ping":
        for _ in range(FLOOD):
            deleted = envelope(
                str(uuid4()), work_item_deleted=pb.WorkItemDeleted(work_item_id=str(uuid4()), user_id=USER)
            )
            await ws.send(deleted.SerializeToString())
        for _ in range(FLOOD // 10):
            item = converters.work_item_to_proto(make_work_item(OTHER))
            created = envelope(
                str(uuid4()), work_item_created=pb.WorkItemCreated(work_item=item, user_id=USER)
            )
            await ws.send(created.SerializeToString())
            sprint = converters.sprint_to_proto(make_sprint(OTHER))
            sprint_created = envelope(
                str(uuid4()), sprint_created=pb.SprintCreated(sprint=sprint, user_id=USER)
            )
            await ws.send(sprint_created.SerializeToString())
        # One legitimate broadcast, to show the stores still apply what they asked for.
        item = converters.work_item_to_proto(make_work_item(SUBSCRIBED))
        await ws.send(
            envelope(
                str(uuid4()), work_item_created=pb.WorkItemCreated(work_item=item, user_id=USER)
            ).SerializeToString()
        )
        reply.pong.timestamp = request.ping.timestamp
    await ws.send(reply.SerializeToString())


async def test_a_broadcast_flood_leaves_tombstones_and_entities_bounded() -> None:
    async with HostileServer(flood_on_ping) as server:
        client = WebSocketClient(
            options(ServerUrl=server.url, RequestTimeout=LIMIT, HeartbeatInterval=3600, HeartbeatTimeout=7200)
        )
        items, sprints = WorkItemStore(client), SprintStore(client)
        try:
            async with asyncio.timeout(LIMIT):
                await client.connect()
                await client.subscribe([SUBSCRIBED])
                await client.ping()  # answered after the flood: every broadcast was handled
            assert items.remembered_deletions <= DEFAULT_UNKNOWN_DELETIONS_LIMIT
            assert items.get_by_project(OTHER) == []
            assert sprints.get_by_project(OTHER) == []
            assert len(items.get_by_project(SUBSCRIBED)) == 1
            assert client.frames_dropped["unsubscribed"] == 2 * (FLOOD // 10)
        finally:
            items.close()
            sprints.close()
            await client.aclose()


def test_the_map_forgets_the_oldest_unknown_deletions_first_and_keeps_known_ones() -> None:
    entities: VersionedEntityMap[WorkItem] = VersionedEntityMap("test", unknown_deletions_limit=3)
    held = make_work_item(SUBSCRIBED)
    entities.apply_server(held)
    entities.apply_server_deletion(held.id)
    unknown = [uuid4() for _ in range(10)]
    for entity_id in unknown:
        entities.apply_server_deletion(entity_id)
    assert entities.remembered_deletions == 1 + 3
    assert entities.is_deleted(held.id)  # a deletion of a held entity is not evicted by the flood
    assert [entities.is_deleted(i) for i in unknown] == [False] * 7 + [True] * 3
