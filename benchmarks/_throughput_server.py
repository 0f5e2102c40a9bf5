"""The minimal pm-ws server the throughput benchmark runs in a separate process.

Raw ``websockets`` + protobuf and nothing else, so that the server costs the same for every client
measured: Ping is answered with Pong, GetWorkItems with a canned list of 20 items, Subscribe and
Unsubscribe with the empty ack, anything else with an Error. One connection's requests are answered
strictly in order, as pm-server does.

GetWorkItems for ``FRESH_PROJECT_ID`` is answered from a pool of pre-serialized lists whose item
ids never repeat within ``FRESH_ANSWERS`` answers (more distinct ids than the converters' id-parse
cache holds), so that a client parses every id afresh, as with real traffic; the canned project's
answer repeats the same 20 ids and always hits that cache. Both cost the server the same.

Run: ``python benchmarks/_throughput_server.py`` prints ``PORT <n>`` on stdout and serves on
127.0.0.1 until its stdin is closed (so it never outlives the benchmark that started it).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from websockets.asyncio.server import ServerConnection, serve

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["CANNED_ITEMS", "FRESH_ANSWERS", "FRESH_PROJECT_ID", "PROJECT_ID", "canned_work_items", "main"]

PROJECT_ID = "6f1c1d1e-3c55-4a39-9d4b-4a2f6f0c0b01"
FRESH_PROJECT_ID = "9a3e5b7c-1d2f-4e60-8a71-3b4c5d6e7f80"
CANNED_ITEMS = 20
#: Answers in the fresh-id pool: 512 x 20 = 10,240 distinct ids, well over the converters' 4,096-entry
#: cache, and cycled in order, so a least-recently-used cache never hits.
FRESH_ANSWERS = 512
_USER_ID = "0b8f1c55-7e0a-4b6a-9a59-2f2a4a8c6d11"


def canned_work_items(
    project_id: str = PROJECT_ID, count: int = CANNED_ITEMS, first_id: int = 1
) -> pb.WorkItemsList:
    now = int(time.time())
    items = [
        pb.WorkItem(
            id=str(uuid.UUID(int=first_id + index, version=4)),
            item_type=pb.STORY,
            project_id=project_id,
            position=index,
            title=f"Benchmark story {index}",
            description="A canned work item, the same for every client measured.",
            status="todo",
            created_at=now,
            updated_at=now,
            created_by=_USER_ID,
            updated_by=_USER_ID,
            priority="medium",
            story_points=3,
            version=1,
            item_number=index + 1,
        )
        for index in range(count)
    ]
    return pb.WorkItemsList(work_items=items, as_of_timestamp=now)


def _answer_tail() -> bytes:
    # Protobuf fields may come in any order, so the canned payload is serialized once and the
    # per-answer envelope (message_id, timestamp) prepended: the server stays cheap.
    return pb.WebSocketMessage(work_items_list=canned_work_items()).SerializeToString()


_LIST_TAIL = _answer_tail()
_FRESH_TAILS = [
    pb.WebSocketMessage(
        work_items_list=canned_work_items(FRESH_PROJECT_ID, first_id=1_000_000 + answer * CANNED_ITEMS)
    ).SerializeToString()
    for answer in range(FRESH_ANSWERS)
]
_fresh_next = 0


def _fresh_tail() -> bytes:
    global _fresh_next
    tail = _FRESH_TAILS[_fresh_next]
    _fresh_next = (_fresh_next + 1) % FRESH_ANSWERS
    return tail


def answer(frame: bytes) -> bytes:
    request = pb.WebSocketMessage.FromString(frame)
    head = pb.WebSocketMessage(message_id=request.message_id, timestamp=int(time.time()))
    kind = request.WhichOneof("payload")
    if kind == "get_work_items_request":
        fresh = request.get_work_items_request.project_id == FRESH_PROJECT_ID
        return head.SerializeToString() + (_fresh_tail() if fresh else _LIST_TAIL)
    if kind == "ping":
        head.pong.timestamp = request.ping.timestamp
    elif kind in ("subscribe", "unsubscribe"):
        pass  # the ack is an envelope with no payload
    else:
        head.error.code = "INVALID_MESSAGE"
        head.error.message = f"the benchmark server does not handle {kind}"
    return head.SerializeToString()


async def handle(connection: ServerConnection) -> None:
    async for frame in connection:
        if isinstance(frame, bytes):
            await connection.send(answer(frame))


async def serve_until_stdin_closes() -> None:
    async with serve(handle, "127.0.0.1", 0, max_size=2**22, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)


def main() -> int:
    asyncio.run(serve_until_stdin_closes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
