"""Raw-client helpers for the reference server's tests: plain ``websockets`` + the generated protobuf.

No project client is involved on purpose: these tests pin the server's wire behaviour, which the
client is later tested against.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer

TIMEOUT = 5.0


def new_id() -> str:
    return str(uuid.uuid4())


def make(kind: str, message_id: str | None = None, **fields: Any) -> pb.WebSocketMessage:
    """An envelope with payload ``kind`` whose fields are set from ``fields`` (lists are extended)."""
    envelope = pb.WebSocketMessage(message_id=message_id or new_id(), timestamp=int(time.time()))
    payload = getattr(envelope, kind)
    payload.SetInParent()
    for name, value in fields.items():
        if isinstance(value, list):
            getattr(payload, name).extend(value)
        else:
            setattr(payload, name, value)
    return envelope


class RawClient:
    """One raw connection; ``request`` sends and collects every frame up to the matching answer."""

    def __init__(self, ws: ClientConnection, user_id: str) -> None:
        self.ws = ws
        self.user_id = user_id

    async def send(self, envelope: pb.WebSocketMessage) -> None:
        await self.ws.send(envelope.SerializeToString())

    async def recv(self) -> pb.WebSocketMessage | str:
        async with asyncio.timeout(TIMEOUT):
            frame = await self.ws.recv()
        return frame if isinstance(frame, str) else pb.WebSocketMessage.FromString(frame)

    async def recv_message(self) -> pb.WebSocketMessage:
        frame = await self.recv()
        assert isinstance(frame, pb.WebSocketMessage), frame
        return frame

    async def request(
        self, envelope: pb.WebSocketMessage
    ) -> tuple[pb.WebSocketMessage, list[pb.WebSocketMessage]]:
        """Send ``envelope``; return its answer and the binary frames received before it."""
        await self.send(envelope)
        before: list[pb.WebSocketMessage] = []
        while True:
            frame = await self.recv_message()
            if frame.message_id == envelope.message_id:
                return frame, before
            before.append(frame)

    async def call(self, kind: str, message_id: str | None = None, **fields: Any) -> pb.WebSocketMessage:
        answer, _ = await self.request(make(kind, message_id, **fields))
        return answer

    async def create_project(self, key: str | None = None, name: str = "Project") -> pb.Project:
        key = key or "P" + uuid.uuid4().hex[:8].upper()
        answer = await self.call("create_project_request", key=key, title=name)
        assert answer.WhichOneof("payload") == "project_created", answer
        return answer.project_created.project

    async def create_item(
        self, project_id: str, title: str = "item", item_type: int = pb.TASK, **fields: Any
    ) -> pb.WorkItem:
        answer = await self.call(
            "create_work_item_request", project_id=project_id, title=title, item_type=item_type, **fields
        )
        assert answer.WhichOneof("payload") == "work_item_created", answer
        return answer.work_item_created.work_item

    async def create_sprint(self, project_id: str, name: str = "Sprint 1", **fields: Any) -> pb.Sprint:
        fields.setdefault("start_date", 1_700_000_000)
        fields.setdefault("end_date", 1_700_000_000 + 14 * 86_400)
        answer = await self.call("create_sprint_request", project_id=project_id, name=name, **fields)
        assert answer.WhichOneof("payload") == "sprint_created", answer
        return answer.sprint_created.sprint

    async def subscribe(self, *project_ids: str) -> None:
        answer = await self.call("subscribe", project_ids=list(project_ids))
        assert answer.WhichOneof("payload") is None


Connect = Callable[..., Awaitable[RawClient]]


def assert_error(answer: pb.WebSocketMessage, code: str, field: str | None = None) -> pb.Error:
    assert answer.WhichOneof("payload") == "error", answer
    assert answer.error.code == code, answer.error
    if field is not None:
        assert answer.error.field == field, answer.error
    return answer.error


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer() as running:
        yield running


@pytest.fixture
async def connect(server: PmTestServer) -> AsyncIterator[Connect]:
    """Factory: ``await connect()`` or ``await connect(user_id)`` opens a raw client in open mode."""
    opened: list[ClientConnection] = []

    async def _connect(user_id: str | None = None, **kwargs: Any) -> RawClient:
        user = user_id or new_id()
        kwargs.setdefault("ping_interval", None)
        async with asyncio.timeout(TIMEOUT):
            ws = await ws_connect(f"{server.url}?user_id={user}", **kwargs)
        opened.append(ws)
        return RawClient(ws, user)

    yield _connect
    for ws in opened:
        await ws.close()


@pytest.fixture
async def alice(connect: Connect) -> RawClient:
    return await connect()


@pytest.fixture
async def project(alice: RawClient) -> pb.Project:
    """A project created by ``alice`` (so she is its admin)."""
    return await alice.create_project()
