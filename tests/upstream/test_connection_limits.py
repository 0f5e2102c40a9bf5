"""Port of pm-ws's ``tests/connection_limits_tests.rs`` (pm-server v0.1.4) against :class:`PmTestServer`.

Both upstream tests are ported, with upstream's ``TestServerConfig::with_strict_limits()`` (a total
of 5 connections) as ``PmTestServer(max_connections=5)``. Upstream polls its registry every 25 ms
for the disconnect; here the server's ``wait_for_connection_count`` waits for it without polling.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from projectmanagement_services.testing import PmTestServer
from tests.upstream._connection_support import (
    STRICT_LIMIT,
    TIMEOUT,
    bearer,
    call,
    connected,
    create_test_token,
    jwt_server,
    refused_status,
)


async def _fill(server: PmTestServer, stack: AsyncExitStack) -> list[object]:
    clients = [
        await stack.enter_async_context(connected(server, f"user-{i}")) for i in range(1, STRICT_LIMIT + 1)
    ]
    async with asyncio.timeout(TIMEOUT):
        await server.wait_for_connection_count(STRICT_LIMIT)
    return list(clients)


async def test_given_server_at_total_limit_when_new_connection_then_rejected_503() -> None:
    """Port of ``given_server_at_total_limit_when_new_connection_then_rejected_503``."""
    async with jwt_server(max_connections=STRICT_LIMIT) as server, AsyncExitStack() as stack:
        await _fill(server, stack)

        status = await refused_status(server.url, bearer(create_test_token("user-6")))

        assert status == 503
        assert server.counters.connection_limit_refusals == 1
        assert server.connection_count == STRICT_LIMIT


async def test_given_server_at_limit_when_one_disconnects_then_new_can_connect() -> None:
    """Port of ``given_server_at_limit_when_one_disconnects_then_new_can_connect``."""
    async with jwt_server(max_connections=STRICT_LIMIT) as server, AsyncExitStack() as stack:
        async with connected(server, "user-1"):
            for i in range(2, STRICT_LIMIT + 1):
                await stack.enter_async_context(connected(server, f"user-{i}"))
            async with asyncio.timeout(TIMEOUT):
                await server.wait_for_connection_count(STRICT_LIMIT)
        async with asyncio.timeout(TIMEOUT):
            await server.wait_for_connection_count(STRICT_LIMIT - 1)

        async with connected(server, "user-6") as client6:
            assert (await call(client6, "ping", timestamp=6)).pong.timestamp == 6
        assert server.counters.connection_limit_refusals == 0
