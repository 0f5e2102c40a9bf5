"""Issue 14: the read loop yields to the event loop under a flood, so timers keep their promises.

The transport seam (``FakeConnection``) is used because it is the worst case: a queue whose
``recv`` never suspends while frames are buffered. (``websockets`` pauses reading every
``max_queue`` frames, which hides starvation at its default; any transport that buffers more
would not.) The request timeout runs on the loop's own timers, as in production.
"""

from __future__ import annotations

import asyncio

import pytest

from projectmanagement_core.exceptions import RequestTimeoutException
from projectmanagement_services.websocket import WebSocketClient
from projectmanagement_services.websocket.client import DROP_LATE_ANSWER
from tests.services.websocket.fakes import FakeFactory, envelope, options

FLOOD = 50_000  # bounded: each frame is a stray ack, cheap to handle
TIMEOUT = 0.05


async def test_a_buffered_flood_does_not_hold_back_the_request_timeout() -> None:
    factory = FakeFactory()
    client = WebSocketClient(
        options(RequestTimeout=TIMEOUT, HeartbeatInterval=3600, HeartbeatTimeout=7200),
        connection_factory=factory,
    )
    await client.connect()
    try:
        ping = asyncio.create_task(client.ping())
        await factory.current.next_request()  # the ping is out; now the flood, all buffered at once
        stray = envelope("00000000-0000-4000-8000-000000000000").SerializeToString()
        for _ in range(FLOOD):
            factory.current.incoming.put_nowait(stray)
        with pytest.raises(RequestTimeoutException):
            async with asyncio.timeout(60):
                await ping
        # Without yielding, the timer could only fire once the whole flood had been handled.
        assert client.frames_dropped[DROP_LATE_ANSWER] < FLOOD
    finally:
        await client.aclose()
