"""Helpers for the ports of pm-ws's connection, connection-limit and JWT tests (``tests/common``).

Upstream's ``common/jwt_helper.rs`` and ``test_client.rs`` in Python: HS256 tokens carrying
``sub``/``exp``/``iat`` made with PyJWT, and a raw ``websockets`` client that sends the token as
``Authorization: Bearer``. Everything talks to a real :class:`PmTestServer` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer

#: Upstream's ``TEST_JWT_SECRET`` (HS256 needs at least 32 bytes).
TEST_JWT_SECRET = b"test-secret-key-for-integration-tests-min-32-bytes-long"
#: Upstream's connection-limit tests run a server with ``max_connections_total: 5``.
STRICT_LIMIT = 5
TIMEOUT = 5.0


def create_test_token(
    sub: str, secret: bytes = TEST_JWT_SECRET, expires_in: int = 3600, **claims: Any
) -> str:
    """``create_test_token_with_expiry``: an HS256 token with ``sub``, ``exp = now + expires_in``, ``iat``."""
    now = int(time.time())
    payload: dict[str, Any] = {"sub": sub, "exp": now + expires_in, "iat": now}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


def create_expired_token(sub: str, secret: bytes = TEST_JWT_SECRET) -> str:
    """``create_expired_token``: expired an hour ago, issued two hours ago."""
    past = int(time.time()) - 3600
    return jwt.encode({"sub": sub, "exp": past, "iat": past - 3600}, secret, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jwt_server(**options: Any) -> PmTestServer:
    """``create_test_server``: JWT auth with the test secret (plus any other keyword)."""
    return PmTestServer(jwt_secret=TEST_JWT_SECRET, **options)


async def open_ws(url: str, headers: dict[str, str] | None = None, **options: Any) -> ClientConnection:
    async with asyncio.timeout(TIMEOUT):
        return await ws_connect(url, additional_headers=headers, ping_interval=None, **options)


@asynccontextmanager
async def connected(server: PmTestServer, sub: str, **token_claims: Any) -> AsyncIterator[ClientConnection]:
    """``WsTestClient::connect``: a connection authenticated as ``sub``, closed on exit."""
    ws = await open_ws(server.url, bearer(create_test_token(sub, **token_claims)))
    try:
        yield ws
    finally:
        await ws.close()


async def refused_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status a handshake is refused with (fails the test if it is accepted)."""
    with pytest.raises(InvalidStatus) as caught:
        async with asyncio.timeout(TIMEOUT):
            await ws_connect(url, additional_headers=headers)
    return caught.value.response.status_code


async def call(ws: ClientConnection, kind: str, **fields: Any) -> pb.WebSocketMessage:
    """Send one request and return its answer (frames for other message ids are skipped)."""
    envelope = pb.WebSocketMessage(message_id=str(uuid.uuid4()), timestamp=int(time.time()))
    payload = getattr(envelope, kind)
    payload.SetInParent()
    for name, value in fields.items():
        setattr(payload, name, value)
    await ws.send(envelope.SerializeToString())
    async with asyncio.timeout(TIMEOUT):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                answer = pb.WebSocketMessage.FromString(frame)
                if answer.message_id == envelope.message_id:
                    return answer


async def create_project(ws: ClientConnection, key: str = "CONN") -> pb.Project:
    answer = await call(ws, "create_project_request", key=key, title="Connection tests")
    assert answer.WhichOneof("payload") == "project_created", answer
    return answer.project_created.project
