"""Port of pm-ws's ``tests/connection_tests.rs`` (pm-server v0.1.4) against :class:`PmTestServer`.

Both upstream tests are ported. Upstream's "no panic = success" checks are made observable here: the
connection answers a Ping, and the server's connection count proves the clean-up (the second test
runs with a one-connection limit, so a connection left registered would make the next one fail with
HTTP 503 instead of passing silently as upstream's default limit of 100 would).
"""

from __future__ import annotations

import asyncio

from projectmanagement_services.testing import PmTestServer
from tests.upstream._connection_support import TIMEOUT, call, connected, jwt_server


async def test_given_valid_jwt_when_connecting_then_succeeds() -> None:
    """Port of ``given_valid_jwt_when_connecting_then_succeeds``."""
    async with jwt_server() as server, connected(server, "user-1") as client:
        answer = await call(client, "ping", timestamp=42)
        assert answer.WhichOneof("payload") == "pong"
        assert answer.pong.timestamp == 42
        assert server.connection_count == 1
        assert server.counters.handshakes_accepted == 1


async def test_given_connected_client_when_closed_then_server_cleans_up() -> None:
    """Port of ``given_connected_client_when_closed_then_server_cleans_up``."""
    server: PmTestServer
    async with jwt_server(max_connections=1) as server:
        async with connected(server, "user-1") as client:
            await call(client, "ping", timestamp=1)
            assert server.connection_count == 1
        async with asyncio.timeout(TIMEOUT):
            await server.wait_for_connection_count(0)
        async with connected(server, "user-2") as client2:
            answer = await call(client2, "ping", timestamp=2)
            assert answer.pong.timestamp == 2
        assert server.counters.connection_limit_refusals == 0
