"""Test doubles for the websocket layer: fake time, a queue-backed connection, wire builders."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

from pydantic.alias_generators import to_pascal

from projectmanagement_core import converters
from projectmanagement_core.exceptions import ConnectionException
from projectmanagement_core.models import (
    ActivityLogEntry,
    Sprint,
    SprintStatus,
    WorkItem,
    WorkItemCreated,
    WorkItemType,
)
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.websocket import WebSocketOptions

__all__ = [
    "FakeConnection",
    "FakeFactory",
    "FakeTime",
    "activity_entry",
    "envelope",
    "make_sprint",
    "make_work_item",
    "options",
    "work_item_created",
]

T0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeTime:
    """A monotonic clock and a sleep that only returns when the test advances time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._new_sleeper = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self.now + seconds, future)
        self._sleepers.append(entry)
        self._new_sleeper.set()
        try:
            await future
        finally:
            self._sleepers.remove(entry)

    @property
    def sleepers(self) -> int:
        return len(self._sleepers)

    async def wait_for_sleepers(self, n: int) -> None:
        """Wait (on events, not time) until at least ``n`` coroutines sleep."""
        async with asyncio.timeout(5):
            while len(self._sleepers) < n:
                self._new_sleeper.clear()
                await self._new_sleeper.wait()

    async def wait_for_timer(self, seconds: float) -> None:
        """Wait (on events, not time) until a coroutine sleeps ``seconds`` from now (a timer is armed)."""
        async with asyncio.timeout(5):
            while not any(
                deadline == self.now + seconds and not future.done() for deadline, future in self._sleepers
            ):
                self._new_sleeper.clear()
                await self._new_sleeper.wait()

    async def advance(self, seconds: float) -> None:
        """Move time forward, wake every sleeper whose deadline passed, and let them run."""
        self.now += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self.now and not future.done():
                future.set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)


class FakeConnection:
    """``WebSocketConnection`` over two queues: ``sent`` (client -> test), ``incoming`` (test -> client)."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[bytes] = asyncio.Queue()
        self.incoming: asyncio.Queue[bytes | str | BaseException] = asyncio.Queue()
        self.closed = False
        self.aborted = False
        self.fail_sends = False
        self.send_attempts = 0

    async def send(self, data: bytes) -> None:
        self.send_attempts += 1
        if self.fail_sends or self.closed or self.aborted:
            raise ConnectionException("connection closed while sending")
        await self.sent.put(data)

    async def recv(self) -> bytes | str:
        item = await self.incoming.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        self.closed = True
        self.incoming.put_nowait(ConnectionException("closed locally"))

    def abort(self) -> None:
        self.aborted = True
        self.incoming.put_nowait(ConnectionException("aborted"))

    # -- the test's side --------------------------------------------------------------------
    async def next_request(self) -> pb.WebSocketMessage:
        async with asyncio.timeout(5):
            data = await self.sent.get()
        message = pb.WebSocketMessage()
        message.ParseFromString(data)
        return message

    def reply(self, message: pb.WebSocketMessage) -> None:
        self.incoming.put_nowait(message.SerializeToString())

    def drop(self, close_code: int | None = None) -> None:
        self.incoming.put_nowait(
            ConnectionException("connection closed while receiving", close_code=close_code)
        )


class FakeFactory:
    """A ``ConnectionFactory`` handing out ``FakeConnection``s, or raising what the test queued."""

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.failures: list[BaseException] = []
        self.calls = 0

    async def __call__(self, options: WebSocketOptions) -> FakeConnection:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        conn = FakeConnection()
        self.connections.append(conn)
        return conn

    @property
    def current(self) -> FakeConnection:
        return self.connections[-1]


def options(**overrides: object) -> WebSocketOptions:
    """Options for tests; keys may be snake_case or the PascalCase of appsettings."""
    values: dict[str, object] = {
        "ServerUrl": "ws://127.0.0.1:9/ws",
        "RequestTimeout": 30,
        "HeartbeatInterval": 30,
        "HeartbeatTimeout": 60,
    }
    values.update({k if k[0].isupper() else to_pascal(k): v for k, v in overrides.items()})
    return WebSocketOptions.model_validate(values)


def envelope(message_id: str = "", **payload: object) -> pb.WebSocketMessage:
    return pb.WebSocketMessage(message_id=message_id, timestamp=1_700_000_000, **payload)  # type: ignore[arg-type]


def make_work_item(project_id: UUID | None = None, *, version: int = 1, title: str = "Task") -> WorkItem:
    user = uuid4()
    return WorkItem(
        id=uuid4(),
        item_type=WorkItemType.TASK,
        project_id=project_id or uuid4(),
        title=title,
        status="backlog",
        priority="medium",
        version=version,
        created_at=T0,
        updated_at=T0,
        created_by=user,
        updated_by=user,
    )


def make_sprint(project_id: UUID | None = None) -> Sprint:
    user = uuid4()
    return Sprint(
        id=uuid4(),
        project_id=project_id or uuid4(),
        name="Sprint 1",
        start_date=T0,
        end_date=datetime(2024, 1, 16, tzinfo=UTC),
        status=SprintStatus.PLANNED,
        version=1,
        created_at=T0,
        updated_at=T0,
        created_by=user,
        updated_by=user,
    )


def activity_entry() -> ActivityLogEntry:
    return ActivityLogEntry(
        id=uuid4(),
        entity_type="work_item",
        entity_id=uuid4(),
        action="created",
        user_id=uuid4(),
        timestamp=T0,
    )


def work_item_created(item: WorkItem) -> pb.WorkItemCreated:
    return converters.work_item_created_to_proto(WorkItemCreated(work_item=item, user_id=item.created_by))
