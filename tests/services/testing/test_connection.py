"""Handshake, identity and frame-level behaviour of the reference server."""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid

import pytest
import trustme
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import TIMEOUT, Connect, RawClient, assert_error, make, new_id

SERVER_LOGGERS = ("websockets.server", "projectmanagement_services.testing")


async def test_other_paths_get_http_404(server: PmTestServer) -> None:
    with pytest.raises(InvalidStatus) as caught:
        await ws_connect(server.url.replace("/ws", "/other"))
    assert caught.value.response.status_code == 404
    assert server.counters.handshakes_refused == 1


async def test_auth_rejects_missing_and_wrong_tokens_with_401() -> None:
    async with PmTestServer(auth_token="secret") as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic secret"}):
            with pytest.raises(InvalidStatus) as caught:
                await ws_connect(server.url, additional_headers=headers)
            assert caught.value.response.status_code == 401
        assert server.counters.handshakes_refused == 3
        assert server.counters.handshakes_accepted == 0


async def test_the_bearer_token_never_reaches_the_servers_log(caplog: pytest.LogCaptureFixture) -> None:
    """websockets logs every received header at DEBUG; the server must redact Authorization."""
    token = "srv-7c2e-very-secret-token"
    caplog.set_level(logging.DEBUG)
    async with PmTestServer(auth_token=token) as server:
        headers = {"Authorization": f"Bearer {token}"}
        async with asyncio.timeout(TIMEOUT), ws_connect(server.url, additional_headers=headers) as ws:
            await RawClient(ws, str(server.user_for_token(token))).create_project()
        with pytest.raises(InvalidStatus):  # a refused handshake is logged too
            async with asyncio.timeout(TIMEOUT):
                await ws_connect(server.url, additional_headers={"Authorization": f"Bearer x{token}"})
    # Only the server's side: this raw client is plain websockets, whose log is not the server's.
    server_records = [r for r in caplog.records if r.name.startswith(SERVER_LOGGERS)]
    assert [r.getMessage() for r in server_records].count("< Authorization: <redacted>") == 2
    assert {r.filename for r in server_records if r.name == "websockets.server"} >= {"server.py"}
    for record in server_records:
        assert token not in record.getMessage(), record.name
        assert token not in str(record.args), record.name


async def test_auth_identity_is_the_token_user_and_query_user_id_is_ignored() -> None:
    async with PmTestServer(auth_token="secret") as server:
        carol = uuid.uuid4()
        server.register_token("carol-token", carol)
        for token, expected in (("secret", server.user_for_token("secret")), ("carol-token", carol)):
            headers = {"Authorization": f"Bearer {token}"}
            async with ws_connect(f"{server.url}?user_id={uuid.uuid4()}", additional_headers=headers) as ws:
                client = RawClient(ws, str(expected))
                project = await client.create_project()
                assert project.created_by == str(expected)
        assert server.user_for_token("secret") == server.user_for_token("secret")
        assert server.user_for_token("other") != server.user_for_token("secret")


async def test_open_mode_identity_comes_from_the_user_id_query(connect: Connect) -> None:
    user = new_id()
    first = await connect(user)
    project = await first.create_project()
    assert project.created_by == user
    second = await connect(user)  # the same identity on a new connection is still the admin
    answer = await second.call("list_projects_request")
    assert [p.id for p in answer.project_list.projects] == [project.id]


async def test_missing_user_id_makes_a_stranger_who_is_member_of_nothing(
    server: PmTestServer, project: pb.Project
) -> None:
    async with ws_connect(server.url) as ws:
        stranger = RawClient(ws, "?")
        answer = await stranger.call("get_work_items_request", project_id=project.id)
        assert_error(answer, "UNAUTHORIZED")


async def test_serves_wss_with_an_ssl_context() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    async with PmTestServer(ssl=server_context) as server:
        assert server.url.startswith("wss://127.0.0.1:")
        async with ws_connect(server.url, ssl=client_context) as ws:
            pong = await RawClient(ws, "?").call("ping", timestamp=7)
            assert pong.pong.timestamp == 7


async def test_ping_is_answered_by_pong_echoing_message_id_and_timestamp(alice: RawClient) -> None:
    ping = make("ping", timestamp=1_234_567)
    answer, before = await alice.request(ping)
    assert before == []
    assert answer.message_id == ping.message_id
    assert answer.WhichOneof("payload") == "pong"
    assert answer.pong.timestamp == 1_234_567


async def test_subscribe_and_unsubscribe_are_acked_with_an_empty_envelope(
    alice: RawClient, project: pb.Project
) -> None:
    for kind in ("subscribe", "unsubscribe"):
        request = make(kind, project_ids=[project.id])
        answer, _ = await alice.request(request)
        assert answer.message_id == request.message_id
        assert answer.WhichOneof("payload") is None


async def test_envelope_without_payload_is_invalid_message(alice: RawClient) -> None:
    request = pb.WebSocketMessage(message_id=new_id(), timestamp=1)
    answer, _ = await alice.request(request)
    assert_error(answer, "INVALID_MESSAGE")


async def test_unknown_and_server_only_payloads_are_invalid_message(alice: RawClient) -> None:
    mid = new_id()
    await alice.ws.send(pb.WebSocketMessage(message_id=mid).SerializeToString() + b"\xb2\x04\x00")
    answer = await alice.recv_message()
    assert answer.message_id == mid
    assert_error(answer, "INVALID_MESSAGE")
    assert_error(await alice.call("pong", timestamp=1), "INVALID_MESSAGE")


async def test_text_frames_from_clients_are_ignored(alice: RawClient) -> None:
    await alice.ws.send("hello")
    ping = make("ping", timestamp=3)
    answer, before = await alice.request(ping)
    assert before == []
    assert answer.pong.timestamp == 3


async def test_undecodable_binary_drops_the_connection_without_a_close_frame(
    server: PmTestServer, alice: RawClient
) -> None:
    await alice.ws.send(b"\x0a\x7f")
    with pytest.raises(ConnectionClosedError):
        await alice.recv()
    assert alice.ws.protocol.close_rcvd is None  # no Close frame: a TCP drop
    assert server.counters.undecodable_frames == 1
    async with asyncio.timeout(TIMEOUT):
        await server.wait_for_connection_count(0)


async def test_requests_on_one_connection_are_answered_in_order(
    alice: RawClient, project: pb.Project
) -> None:
    requests = [
        make("create_work_item_request", project_id=project.id, title=f"t{i}", item_type=pb.TASK)
        for i in range(20)
    ]
    requests.insert(5, make("ping", timestamp=5))
    requests.insert(10, make("get_work_items_request", project_id=project.id))
    for request in requests:
        await alice.send(request)
    answers = [await alice.recv_message() for _ in requests]
    assert [a.message_id for a in answers] == [r.message_id for r in requests]


async def test_connection_count_tracks_open_connections(server: PmTestServer, connect: Connect) -> None:
    first = await connect()
    await first.call("ping", timestamp=1)
    second = await connect()
    await second.call("ping", timestamp=1)
    assert server.connection_count == 2
    assert server.counters.handshakes_accepted == 2
