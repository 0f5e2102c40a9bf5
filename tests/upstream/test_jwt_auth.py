"""Port of pm-ws's ``tests/jwt_auth_tests.rs`` (pm-server v0.1.4) against :class:`PmTestServer`.

All three upstream tests are ported: each handshake is refused with HTTP 401 before any upgrade, and
the server counts the refusal and accepts nothing.
"""

from __future__ import annotations

from projectmanagement_services.testing import PmTestServer
from tests.upstream._connection_support import (
    bearer,
    create_expired_token,
    create_test_token,
    jwt_server,
    refused_status,
)


def _nothing_accepted(server: PmTestServer) -> None:
    assert server.counters.handshakes_refused == 1
    assert server.counters.handshakes_accepted == 0
    assert server.connection_count == 0


async def test_given_expired_token_when_connecting_then_returns_401() -> None:
    """Port of ``given_expired_token_when_connecting_then_returns_401``."""
    async with jwt_server() as server:
        status = await refused_status(server.url, bearer(create_expired_token("user-1")))
        assert status == 401
        _nothing_accepted(server)


async def test_given_token_with_wrong_signature_when_connecting_then_returns_401() -> None:
    """Port of ``given_token_with_wrong_signature_when_connecting_then_returns_401``."""
    wrong_secret = b"wrong-secret-this-will-fail-validation-min-32-bytes"
    async with jwt_server() as server:
        status = await refused_status(server.url, bearer(create_test_token("user-1", wrong_secret)))
        assert status == 401
        _nothing_accepted(server)


async def test_given_missing_authorization_header_when_connecting_then_returns_401() -> None:
    """Port of ``given_missing_authorization_header_when_connecting_then_returns_401``."""
    async with jwt_server() as server:
        status = await refused_status(server.url)
        assert status == 401
        _nothing_accepted(server)
