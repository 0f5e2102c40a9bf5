"""The minimal pm-ws server of the resync benchmark, run in a separate process.

Raw ``websockets`` + protobuf answering prebuilt frames, so that the server costs nothing the
client's numbers could absorb and its CPU is not the client process's. It serves one big project:

* GetWorkItems of ``RESYNC_PROJECT_ID``: ``--items`` work items, alternating between two versions
  of the project (variant B: 1 % of the items one version newer with a new title, 0.5 % deleted,
  0.5 % added), so that every resync into a store holding the other variant has news to land;
* GetWorkItems of ``FIT_PROJECT_ID``: the ``--fit-items`` first items (the largest list that fits
  the client's default MaxMessageSize, as computed by the benchmark);
* GetSprints of ``RESYNC_PROJECT_ID``: ``--sprints`` sprints;
* GetWorkItems of ``KICK_PROJECT_ID``: closes the connection (1012), to make the client reconnect;
* Subscribe/Unsubscribe: the empty ack; Ping: Pong; anything else: an Error.

Run: ``python benchmarks/_resync_server.py --items N --fit-items F --sprints S`` prints ``PORT <n>``
and serves on 127.0.0.1 until its stdin is closed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid

from _throughput_server import canned_work_items
from websockets.asyncio.server import ServerConnection, serve

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = [
    "FIT_PROJECT_ID",
    "KICK_PROJECT_ID",
    "RESYNC_PROJECT_ID",
    "answer_frame",
    "project_items",
    "project_sprints",
]

RESYNC_PROJECT_ID = "3d0c6f5e-8a1b-4c2d-9e3f-5a6b7c8d9e01"
FIT_PROJECT_ID = "3d0c6f5e-8a1b-4c2d-9e3f-5a6b7c8d9e02"
KICK_PROJECT_ID = "3d0c6f5e-8a1b-4c2d-9e3f-5a6b7c8d9e03"
_USER_ID = "0b8f1c55-7e0a-4b6a-9a59-2f2a4a8c6d11"
_FIRST_ID = 7_000_000
_DAY = 86_400


def project_items(count: int, *, variant_b: bool = False) -> pb.WorkItemsList:
    """The project's items; variant B has 1 % updated, 0.5 % deleted and 0.5 % new items."""
    listed = canned_work_items(RESYNC_PROJECT_ID, count, first_id=_FIRST_ID)
    if not variant_b:
        return listed
    items = list(listed.work_items)
    for index in range(0, len(items), 100):
        items[index].version += 1
        items[index].title += " (changed while away)"
    dropped = set(range(50, len(items), 200))
    kept = [item for index, item in enumerate(items) if index not in dropped]
    added = canned_work_items(RESYNC_PROJECT_ID, len(dropped), first_id=_FIRST_ID + 1_000_000).work_items
    return pb.WorkItemsList(work_items=[*kept, *added], as_of_timestamp=listed.as_of_timestamp)


def project_sprints(count: int) -> pb.SprintsList:
    now = int(time.time())
    sprints = [
        pb.Sprint(
            id=str(uuid.UUID(int=_FIRST_ID + 5_000_000 + index, version=4)),
            project_id=RESYNC_PROJECT_ID,
            name=f"Sprint {index}",
            goal="Land the resync without stalling the loop.",
            start_date=now + index * 14 * _DAY,
            end_date=now + (index + 1) * 14 * _DAY,
            status=pb.PLANNED,
            version=1,
            created_at=now,
            updated_at=now,
            created_by=_USER_ID,
            updated_by=_USER_ID,
        )
        for index in range(count)
    ]
    return pb.SprintsList(sprints=sprints)


def answer_frame(message_id: str, items: pb.WorkItemsList) -> bytes:
    """The whole answer frame, as the client receives it (also what the raw parse row parses)."""
    return pb.WebSocketMessage(
        message_id=message_id, timestamp=int(time.time()), work_items_list=items
    ).SerializeToString()


class _Answers:
    def __init__(self, items: int, fit_items: int, sprints: int) -> None:
        def tail(**payload: object) -> bytes:
            return pb.WebSocketMessage(**payload).SerializeToString()  # type: ignore[arg-type]

        self.items = [
            tail(work_items_list=project_items(items)),
            tail(work_items_list=project_items(items, variant_b=True)),
        ]
        fit = canned_work_items(FIT_PROJECT_ID, fit_items, first_id=_FIRST_ID)
        self.fit = tail(work_items_list=fit)
        self.sprints = tail(sprints_list=project_sprints(sprints))
        self._next = 0

    def next_items(self) -> bytes:
        tail = self.items[self._next]
        self._next = 1 - self._next
        return tail


async def _handle(connection: ServerConnection, answers: _Answers) -> None:
    async for frame in connection:
        if not isinstance(frame, bytes):
            continue
        request = pb.WebSocketMessage.FromString(frame)
        head = pb.WebSocketMessage(message_id=request.message_id, timestamp=int(time.time()))
        kind = request.WhichOneof("payload")
        tail = b""
        if kind == "get_work_items_request":
            project = request.get_work_items_request.project_id
            if project == KICK_PROJECT_ID:
                await connection.close(1012, "benchmark: reconnect")
                return
            tail = answers.fit if project == FIT_PROJECT_ID else answers.next_items()
        elif kind == "get_sprints_request":
            tail = answers.sprints
        elif kind == "ping":
            head.pong.timestamp = request.ping.timestamp
        elif kind not in ("subscribe", "unsubscribe"):
            head.error.code = "INVALID_MESSAGE"
            head.error.message = f"the resync benchmark server does not handle {kind}"
        # Protobuf fields may come in any order: the prebuilt payload follows the fresh head.
        await connection.send(head.SerializeToString() + tail)


async def _serve(answers: _Answers) -> None:
    async def handle(connection: ServerConnection) -> None:
        await _handle(connection, answers)

    async with serve(handle, "127.0.0.1", 0, max_size=2**22, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--fit-items", type=int, required=True)
    parser.add_argument("--sprints", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(_Answers(args.items, args.fit_items, args.sprints)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
