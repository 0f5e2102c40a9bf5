"""Real peers for the stores' integration tests: a WebSocketClient, a ReconnectionService and both stores.

Each peer's reconnection service sleeps on a ``Gate`` instead of the clock, so a test decides when
a peer comes back (for instance after the other peer changed things while it was away) and no test
waits on real time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from projectmanagement_core import converters
from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import CreateProjectRequest, EntityChange, Sprint, WorkItem
from projectmanagement_services.resilience import (
    CircuitBreaker,
    ReconnectionOptions,
    ReconnectionResult,
    ReconnectionService,
    ResilientWebSocketClient,
    RetryPolicy,
)
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket import WebSocketClient, WebSocketOptions

__all__ = ["Gate", "Peer", "open_peer", "server_items", "server_sprints", "start_project"]

TIMEOUT = 5.0


class Gate:
    """An injected ``sleep`` that returns once the gate is open (open unless ``close``d)."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def sleep(self, seconds: float) -> None:
        await self._open.wait()


@dataclass
class Peer:
    user_id: UUID
    client: IWebSocketClient
    reconnection: ReconnectionService
    gate: Gate
    items: WorkItemStore
    sprints: SprintStore
    item_changes: list[EntityChange[WorkItem]] = field(default_factory=list)
    sprint_changes: list[EntityChange[Sprint]] = field(default_factory=list)
    reconnected: asyncio.Queue[ReconnectionResult] = field(default_factory=asyncio.Queue)

    async def subscribe(self, project_id: UUID) -> None:
        await self.client.subscribe([project_id])
        self.reconnection.track_subscription([project_id])

    async def wait_reconnected(self) -> ReconnectionResult:
        async with asyncio.timeout(TIMEOUT):
            return await self.reconnected.get()

    async def settle(self) -> None:
        """Every broadcast the server queued for this peer before now has been applied.

        The server writes a connection's frames in order, so the pong comes after them.
        """
        async with asyncio.timeout(TIMEOUT):
            await self.client.ping()

    async def aclose(self) -> None:
        self.items.close()
        self.sprints.close()
        await self.client.aclose()
        await self.reconnection.aclose()


async def _no_wait(seconds: float) -> None:
    """The retry policy's sleep: retries go at once (the backoff itself is not under test here)."""


async def open_peer(server: PmTestServer, user_id: UUID | None = None, *, resilient: bool = False) -> Peer:
    """A connected peer; ``resilient`` puts the stores over a ResilientWebSocketClient (retry, breaker)."""
    user_id = user_id or uuid4()
    options = WebSocketOptions(
        server_url=server.url,
        user_id=user_id,
        request_timeout=timedelta(seconds=TIMEOUT),
        connect_timeout=timedelta(seconds=TIMEOUT),
    )
    inner = WebSocketClient(options)
    gate = Gate()
    reconnection = ReconnectionService(
        inner,
        ReconnectionOptions(
            max_attempts=50, initial_delay=timedelta(milliseconds=1), max_delay=timedelta(milliseconds=1)
        ),
        sleep=gate.sleep,
        random=lambda: 0.0,
    )
    client: IWebSocketClient = inner
    if resilient:
        retry = RetryPolicy(sleep=_no_wait, random=lambda: 0.0)
        client = ResilientWebSocketClient(inner, CircuitBreaker(), retry, reconnection=reconnection)
    items = WorkItemStore(client)
    sprints = SprintStore(client)
    items.attach_resync(reconnection)
    sprints.attach_resync(reconnection)
    peer = Peer(user_id, client, reconnection, gate, items, sprints)
    items.on_changed.subscribe(peer.item_changes.append)
    sprints.on_changed.subscribe(peer.sprint_changes.append)
    reconnection.on_reconnected.subscribe(peer.reconnected.put_nowait)
    async with asyncio.timeout(TIMEOUT):
        await client.connect()
    return peer


async def start_project(server: PmTestServer, owner: Peer, *others: Peer, key: str = "PM") -> UUID:
    """A project ``owner`` created, with ``others`` as members, everyone subscribed and loaded."""
    project = await owner.client.create_project(CreateProjectRequest(key=key, title=f"project {key}"))
    for peer in others:
        server.add_member(project.id, peer.user_id, role="admin")  # the peers delete too (admin only)
    for peer in (owner, *others):
        await peer.subscribe(project.id)
        await peer.items.load_project(project.id)
        await peer.sprints.load_project(project.id)
    return project.id


def server_items(server: PmTestServer, project_id: UUID) -> dict[UUID, WorkItem]:
    """The server's non-deleted items, read from its database, as models."""
    items = (converters.work_item_from_proto(p) for p in server.work_items(project_id))
    return {item.id: item for item in items}


def server_sprints(server: PmTestServer, project_id: UUID) -> dict[UUID, Sprint]:
    sprints = (converters.sprint_from_proto(p) for p in server.sprints(project_id))
    return {sprint.id: sprint for sprint in sprints}
