"""The raw baseline: a hand-written correlated pm-ws client on ``websockets`` + protobuf.

What a competent user writes in an afternoon instead of using this project: one reader task, a
dict of futures keyed by message_id, no validation, no model conversion, no timeouts, no
reconnection. It is the floor the project's clients are compared against.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from websockets.asyncio.client import ClientConnection, connect

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["RawClient"]


class RawClient:
    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: ClientConnection | None = None
        self._pending: dict[str, asyncio.Future[pb.WebSocketMessage]] = {}
        self._reader: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def connect(self) -> None:
        self._connection = await connect(self._url, max_size=2**22, compression=None)
        self._reader = asyncio.create_task(self._read(self._connection))

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for frame in connection:
                if isinstance(frame, str):
                    continue
                message = pb.WebSocketMessage.FromString(frame)
                future = self._pending.pop(message.message_id, None)
                if future is not None and not future.done():
                    future.set_result(message)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))
            self._pending.clear()

    async def request(self, message: pb.WebSocketMessage) -> pb.WebSocketMessage:
        assert self._connection is not None, "connect() first"
        message_id = str(uuid.uuid4())
        message.message_id = message_id
        message.timestamp = int(time.time())
        future: asyncio.Future[pb.WebSocketMessage] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await self._connection.send(message.SerializeToString())
            return await future
        finally:
            self._pending.pop(message_id, None)

    async def get_work_items(self, project_id: str) -> list[pb.WorkItem]:
        request = pb.WebSocketMessage()
        request.get_work_items_request.project_id = project_id
        answer = await self.request(request)
        if answer.WhichOneof("payload") != "work_items_list":
            raise RuntimeError(f"unexpected answer {answer.WhichOneof('payload')}")
        return list(answer.work_items_list.work_items)

    async def ping(self) -> None:
        request = pb.WebSocketMessage()
        request.ping.timestamp = int(time.time())
        answer = await self.request(request)
        if answer.WhichOneof("payload") != "pong":
            raise RuntimeError(f"unexpected answer {answer.WhichOneof('payload')}")
