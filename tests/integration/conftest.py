"""The resilient stack (WebSocketClient behind breaker, retry and reconnection) against PmTestServer.

Real websockets on 127.0.0.1 with a random port and a file database (so a restart keeps the data).
Outcomes are awaited through events and futures bounded by ``asyncio.timeout(LIMIT)``, never slept
for. Delays that only pace a loop are tiny (10 ms) or injected; the breaker runs on fake time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from projectmanagement_core.models import ConnectionState, ConnectionStateChange, CreateProjectRequest
from projectmanagement_services.clock import SleepFunction
from projectmanagement_services.resilience import (
    CircuitBreaker,
    CircuitBreakerOptions,
    RateLimiter,
    RateLimitOptions,
    ReconnectionOptions,
    ReconnectionService,
    ResilientWebSocketClient,
    RetryPolicy,
    RetryPolicyOptions,
)
from projectmanagement_services.telemetry import PmTelemetry
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket import WebSocketClient
from projectmanagement_services.websocket.options import WebSocketOptions
from tests.services.resilience.fake_time import FakeTime
from tests.services.resilience.otel_capture import OtelCapture
from tests.services.websocket.fakes import FakeTime as ManualTime

LIMIT = 10.0  # every awaited outcome is bounded by this many seconds
TINY = timedelta(milliseconds=10)

__all__ = [
    "LIMIT",
    "TINY",
    "ConnectedSignal",
    "ManualTime",
    "Stack",
    "build_stack",
    "new_project",
    "plain_client",
    "wait_for_state",
]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[PmTestServer]:
    async with PmTestServer(host="127.0.0.1", port=0, database=tmp_path / "pm.db") as srv:
        yield srv


class ConnectedSignal:
    """An ``asyncio.Event`` that is set exactly while the client is Connected."""

    def __init__(self, client: WebSocketClient) -> None:
        self.event = asyncio.Event()
        self.changes: list[ConnectionStateChange] = []
        if client.state is ConnectionState.CONNECTED:
            self.event.set()
        client.on_state_changed.subscribe(self._changed)

    def _changed(self, change: ConnectionStateChange) -> None:
        self.changes.append(change)
        if change.current is ConnectionState.CONNECTED:
            self.event.set()
        else:
            self.event.clear()

    async def wait(self) -> None:
        await self.event.wait()

    async def sleep_until_connected(self, _delay: float) -> None:
        """A retry sleep that waits for the link instead of a fixed time (bounded by the caller)."""
        await self.event.wait()


@dataclass
class Stack:
    inner: WebSocketClient
    breaker: CircuitBreaker
    retry: RetryPolicy
    reconnection: ReconnectionService
    client: ResilientWebSocketClient
    connected: ConnectedSignal
    breaker_time: FakeTime
    otel: OtelCapture
    rate_limiter: RateLimiter | None = None


def websocket_options(
    server: PmTestServer, user_id: UUID, request_timeout: float = LIMIT
) -> WebSocketOptions:
    return WebSocketOptions(
        server_url=server.url,
        user_id=user_id,
        request_timeout=timedelta(seconds=request_timeout),
        connect_timeout=timedelta(seconds=LIMIT),
    )


def plain_client(server: PmTestServer, user_id: UUID) -> WebSocketClient:
    """Another user's ordinary client: the "someone else" of the tests."""
    return WebSocketClient(websocket_options(server, user_id))


def build_stack(
    server: PmTestServer,
    user_id: UUID | None = None,
    *,
    request_timeout: float = LIMIT,
    retry: RetryPolicyOptions | None = None,
    retry_until_connected: bool = False,
    breaker: CircuitBreakerOptions | None = None,
    reconnection: ReconnectionOptions | None = None,
    reconnect_sleep: SleepFunction = asyncio.sleep,
    client_time: ManualTime | None = None,
    rate_limit: RateLimitOptions | None = None,
) -> Stack:
    """The production composition (as the container wires it), with test telemetry and fake breaker time.

    ``retry_until_connected``: the retry policy's backoff waits for the link to be up again instead
    of a fixed delay, so an operation started during an outage is retried as soon as it can succeed.
    ``client_time``: the WebSocketClient's clock and timer (request timeouts, heartbeat) run on this
    manual time, so a request times out exactly when the test advances it, never because a loaded
    machine answered slowly.
    ``rate_limit``: the client-side rate limiter's options (as the container wires it: shared by the
    client and the reconnection service); None builds none.
    """
    otel = OtelCapture(server_address="127.0.0.1", server_port=server.port)
    telemetry: PmTelemetry = otel.telemetry
    options = websocket_options(server, user_id or uuid4(), request_timeout)
    limiter = None if rate_limit is None else RateLimiter(rate_limit, telemetry=telemetry)
    if client_time is None:
        inner = WebSocketClient(options, rate_limiter=limiter)
    else:
        inner = WebSocketClient(
            options, clock=client_time.clock, sleep=client_time.sleep, rate_limiter=limiter
        )
    connected = ConnectedSignal(inner)
    breaker_time = FakeTime()
    circuit = CircuitBreaker(
        breaker or CircuitBreakerOptions(), clock=breaker_time.clock, telemetry=telemetry
    )
    retry_policy = RetryPolicy(
        retry or RetryPolicyOptions(max_attempts=3, initial_delay=TINY, max_delay=TINY * 5),
        sleep=connected.sleep_until_connected if retry_until_connected else asyncio.sleep,
        telemetry=telemetry,
    )
    service = ReconnectionService(
        inner,
        reconnection or ReconnectionOptions(max_attempts=20, initial_delay=TINY, max_delay=TINY * 5),
        sleep=reconnect_sleep,
        telemetry=telemetry,
        rate_limiter=limiter,
    )
    client = ResilientWebSocketClient(inner, circuit, retry_policy, reconnection=service, telemetry=telemetry)
    return Stack(inner, circuit, retry_policy, service, client, connected, breaker_time, otel, limiter)


async def wait_for_state(client: WebSocketClient, state: ConnectionState) -> None:
    """Return once ``client`` is in ``state`` (at once if it already is); wrap it in a timeout."""
    if client.state is state:
        return
    reached: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def changed(change: ConnectionStateChange) -> None:
        if change.current is state and not reached.done():
            reached.set_result(None)

    client.on_state_changed.subscribe(changed)
    try:
        await reached
    finally:
        client.on_state_changed.unsubscribe(changed)


async def new_project(client: ResilientWebSocketClient | WebSocketClient, key: str = "PM") -> UUID:
    project = await client.create_project(CreateProjectRequest(key=key, title=f"Project {key}"))
    return project.id
