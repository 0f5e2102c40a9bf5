"""A raw pm-ws server on 127.0.0.1 whose answers a test scripts: the hostile peer of issue 14."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["Answerer", "HostileServer"]

#: Called with each request received and the connection; sends whatever the test wants.
Answerer = Callable[[pb.WebSocketMessage, ServerConnection], Awaitable[None]]


class HostileServer:
    """``async with HostileServer(answer) as server: server.url``; real sockets, loopback only."""

    def __init__(self, answer: Answerer) -> None:
        self._answer = answer
        self._server: Server | None = None
        self.connections: list[ServerConnection] = []
        self.received: list[pb.WebSocketMessage] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/ws"

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        try:
            async for data in ws:
                assert isinstance(data, bytes)
                request = pb.WebSocketMessage.FromString(data)
                self.received.append(request)
                await self._answer(request, ws)
        except ConnectionClosed:
            pass

    async def __aenter__(self) -> HostileServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None, ping_interval=None)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
