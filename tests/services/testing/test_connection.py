"""Handshake, identity and frame-level behaviour of the reference server."""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import jwt
import pytest
import trustme
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Frame, Opcode

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.cli import build_parser
from projectmanagement_services.cli import main as cli_main
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.testing.identity import parse_upstream_uuid
from projectmanagement_services.testing.jwt_auth import InvalidTokenError, JwtValidator
from projectmanagement_services.testing.serve import connection_options
from projectmanagement_services.testing.server_breaker import (
    ServerBreakerSettings,
    ServerBreakerState,
    ServerCircuitBreaker,
    breaker_effects,
)
from tests.services.testing.conftest import TIMEOUT, Connect, RawClient, assert_error, make, new_id
from tests.upstream import _connection_support as up

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


# ---------------------------------------------------------------------- pm-server's connection rules
# Beyond the ported upstream tests (tests/upstream/): the details of pm-server's handshake, limits,
# timeout, breaker and frames that its own tests leave unchecked.


def _rsa_key_pair() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


async def _identity(ws: ClientConnection) -> str:
    """Who the server thinks this connection is: the creator of a fresh project."""
    return (await up.create_project(ws, "K" + uuid.uuid4().hex[:8].upper())).created_by


async def test_jwt_sub_that_is_a_uuid_is_the_user_and_query_user_id_is_ignored() -> None:
    user = uuid.uuid4()
    async with up.jwt_server() as server:
        url = f"{server.url}?user_id={uuid.uuid4()}"
        token = up.create_test_token(str(user).upper())  # any spelling Uuid::parse_str accepts
        ws = await up.open_ws(url, up.bearer(token))
        async with ws:
            assert await _identity(ws) == str(user)


async def test_jwt_sub_that_is_not_a_uuid_is_a_new_stranger_on_every_connection() -> None:
    async with up.jwt_server() as server:
        async with up.connected(server, "user-1") as first, up.connected(server, "user-1") as second:
            one, two = await _identity(first), await _identity(second)
        assert one != two
        assert uuid.UUID(one).version == uuid.UUID(two).version == 4


@pytest.mark.parametrize(
    ("case", "claims"),
    [
        ("expired beyond the 30 s leeway", {"exp_offset": -45}),
        ("nbf beyond the leeway", {"nbf_offset": 120}),
        ("no iat", {"drop": "iat"}),
        ("no exp", {"drop": "exp"}),
        ("no sub", {"drop": "sub"}),
        ("empty sub", {"sub": ""}),
        ("float iat", {"iat": 1.5}),
        ("roles not a list", {"roles": "admin"}),
        ("an audience when none is expected", {"aud": "pm-server"}),
        ("a list of audiences", {"aud": ["a", "b"]}),
    ],
)
async def test_jwt_claims_pm_server_refuses_get_401(case: str, claims: dict[str, object]) -> None:
    now = int(time.time())
    payload: dict[str, object] = {"sub": "user-1", "exp": now + 3600, "iat": now}
    if "exp_offset" in claims:
        payload["exp"] = now + int(str(claims["exp_offset"]))
    if "nbf_offset" in claims:
        payload["nbf"] = now + int(str(claims["nbf_offset"]))
    if "drop" in claims:
        del payload[str(claims["drop"])]
    payload.update({k: v for k, v in claims.items() if k in ("sub", "iat", "roles", "aud")})
    token = jwt.encode(payload, up.TEST_JWT_SECRET, algorithm="HS256")
    async with up.jwt_server() as server:
        assert await up.refused_status(server.url, up.bearer(token)) == 401, case


async def test_jwt_accepts_what_pm_server_accepts_leeway_iat_roles_and_nbf() -> None:
    now = int(time.time())
    accepted = [
        {"sub": "u", "exp": now - 10, "iat": now - 100},  # expired, but within the 30 s leeway
        {"sub": "u", "exp": now + 60, "iat": now + 600},  # iat in the future is never compared
        {"sub": "u", "exp": now + 60, "iat": now, "aud": 7, "iss": "anyone"},  # aud not a string: unread
        {"sub": "u", "exp": now + 60, "iat": now, "roles": ["admin"], "nbf": now + 10},
    ]
    async with up.jwt_server() as server:
        for payload in accepted:
            ws = await up.open_ws(server.url, up.bearer(jwt.encode(payload, up.TEST_JWT_SECRET, "HS256")))
            async with ws:
                assert (await up.call(ws, "ping", timestamp=1)).pong.timestamp == 1, payload


async def test_jwt_scheme_and_algorithm_are_exactly_bearer_and_the_configured_one() -> None:
    token = up.create_test_token("user-1")
    other_alg = jwt.encode({"sub": "u", "exp": int(time.time()) + 60, "iat": 0}, up.TEST_JWT_SECRET, "HS384")
    unsigned = jwt.encode({"sub": "u", "exp": int(time.time()) + 60, "iat": 0}, None, "none")
    async with up.jwt_server() as server:
        for value in (
            f"bearer {token}",
            f"Bearer  {token}",
            f"Basic {token}",
            token,
            f"Bearer {other_alg}",
            f"Bearer {unsigned}",
        ):
            assert await up.refused_status(server.url, {"Authorization": value}) == 401, value
        assert server.counters.handshakes_accepted == 0


async def test_jwt_rs256_mode_accepts_tokens_signed_by_the_key_pair_only() -> None:
    private, public = _rsa_key_pair()
    now = int(time.time())
    claims = {"sub": "user-1", "exp": now + 60, "iat": now}
    async with PmTestServer(jwt_public_key=public) as server:
        ws = await up.open_ws(server.url, up.bearer(jwt.encode(claims, private, algorithm="RS256")))
        async with ws:
            assert (await up.call(ws, "ping", timestamp=5)).pong.timestamp == 5
        hs256 = jwt.encode(claims, up.TEST_JWT_SECRET, algorithm="HS256")
        assert await up.refused_status(server.url, up.bearer(hs256)) == 401


def test_auth_modes_are_configured_unambiguously() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        PmTestServer(jwt_secret="short")
    with pytest.raises(ValueError, match="not both"):
        PmTestServer(jwt_secret=up.TEST_JWT_SECRET, jwt_public_key="x")
    with pytest.raises(ValueError, match="exclude"):
        PmTestServer(auth_token="t", jwt_secret=up.TEST_JWT_SECRET)
    with pytest.raises(ValueError, match="RSA public key"):
        PmTestServer(jwt_public_key="not a pem")


@pytest.mark.parametrize(
    ("claimed", "canonical"),
    [
        ("67E55044-10B1-426F-9247-BB680E5FE0C8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("67e5504410b1426f9247bb680e5fe0c8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("{67e55044-10b1-426f-9247-bb680e5fe0c8}", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
    ],
)
async def test_desktop_user_id_in_any_spelling_uuid_parse_str_accepts_is_canonicalised(
    claimed: str, canonical: str
) -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(f"{server.url}?user_id={quote(claimed)}")
        async with ws:
            assert await _identity(ws) == canonical


async def test_desktop_user_id_uuid_parse_str_refuses_is_a_new_stranger_each_time() -> None:
    laxer_than_upstream = "67e5-5044-10b1426f9247bb680e5fe0c8"  # Python's uuid.UUID would take it
    async with PmTestServer() as server:
        seen = set()
        for query in (f"?user_id={laxer_than_upstream}", f"?user_id={laxer_than_upstream}", "", "?user_id="):
            ws = await up.open_ws(server.url + query)
            async with ws:
                seen.add(await _identity(ws))
        assert len(seen) == 4
        assert str(uuid.UUID(laxer_than_upstream)) not in seen


async def test_desktop_user_id_setting_is_the_identity_without_a_query() -> None:
    desktop = uuid.uuid4()
    async with PmTestServer(desktop_user_id=str(desktop)) as server:
        for _ in range(2):
            ws = await up.open_ws(server.url)
            async with ws:
                assert await _identity(ws) == str(desktop)


async def test_connection_limit_is_checked_after_auth_so_a_bad_token_still_hears_401() -> None:
    async with up.jwt_server(max_connections=1) as server, up.connected(server, "user-1"):
        assert await up.refused_status(server.url) == 401
        assert await up.refused_status(server.url, up.bearer(up.create_test_token("user-2"))) == 503
        assert server.counters.connection_limit_refusals == 1


async def test_no_connection_limit_when_max_connections_is_none() -> None:
    async with PmTestServer(max_connections=None) as server:
        sockets = [await up.open_ws(server.url) for _ in range(3)]
        for ws in sockets:
            await ws.close()
        assert server.counters.handshakes_accepted == 3


@pytest.mark.parametrize("bad", [0, 100_001, -1])
def test_max_connections_outside_upstreams_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        PmTestServer(max_connections=bad)


async def test_a_request_outlasting_the_handler_timeout_is_answered_timeout_and_not_applied() -> None:
    async with PmTestServer(handler_timeout=0.05) as server:
        ws = await up.open_ws(server.url)
        async with ws:
            with server.faults.delay_handling(60):
                answer = await up.call(ws, "create_project_request", key="SLOW", title="Slow")
                ping = await up.call(ws, "ping", timestamp=9)  # pings are under the timeout too
            assert answer.WhichOneof("payload") == "error"
            assert answer.error.code == "TIMEOUT"
            assert answer.error.message == "Request timed out. Please try again."
            assert not answer.error.HasField("field")
            assert ping.error.code == "TIMEOUT"
            assert server.projects() == []
            assert server.counters.handler_timeouts == 2
            assert (await up.call(ws, "ping", timestamp=10)).pong.timestamp == 10


def test_handler_timeout_must_be_positive_or_none() -> None:
    with pytest.raises(ValueError, match="handler_timeout"):
        PmTestServer(handler_timeout=0)
    assert PmTestServer(handler_timeout=None) is not None


async def test_unauthorized_reads_trip_the_servers_own_breaker_for_everybody_as_upstream() -> None:
    """pm-server bug reproduced: UNAUTHORIZED counts as a failure, and the breaker never closes."""
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    async with PmTestServer() as server:
        ws_owner = await up.open_ws(f"{server.url}?user_id={owner}")
        ws_stranger = await up.open_ws(f"{server.url}?user_id={stranger}")
        async with ws_owner, ws_stranger:
            project = await up.create_project(ws_owner)
            for _ in range(5):
                denied = await up.call(ws_stranger, "get_work_items_request", project_id=project.id)
                assert denied.error.code == "UNAUTHORIZED"
            answer = await up.call(ws_owner, "get_work_items_request", project_id=project.id)
            assert answer.error.code == "SERVICE_UNAVAILABLE"
            assert answer.error.message == "Service temporarily unavailable. Retry after 30 seconds"
            assert not answer.error.HasField("field")
            assert (await up.call(ws_owner, "ping", timestamp=3)).pong.timestamp == 3  # no database
            assert (await up.call(ws_owner, "subscribe")).WhichOneof("payload") is None
            assert server.breaker is not None
            assert server.breaker.state == "Open"
            assert server.counters.breaker_rejections == 1


async def test_a_success_between_unauthorized_reads_resets_the_breakers_count() -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    async with PmTestServer() as server:
        ws_owner = await up.open_ws(f"{server.url}?user_id={owner}")
        ws_stranger = await up.open_ws(f"{server.url}?user_id={stranger}")
        async with ws_owner, ws_stranger:
            project = await up.create_project(ws_owner)
            for _ in range(4):
                await up.call(ws_stranger, "get_work_items_request", project_id=project.id)
            listed = await up.call(ws_owner, "get_work_items_request", project_id=project.id)
            assert listed.WhichOneof("payload") == "work_items_list"
            for _ in range(4):
                denied = await up.call(ws_stranger, "get_work_items_request", project_id=project.id)
                assert denied.error.code == "UNAUTHORIZED"
            assert server.breaker is not None
            assert server.breaker.state == "Closed"


async def test_server_breaker_none_never_refuses() -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    async with PmTestServer(server_breaker=None) as server:
        ws_owner = await up.open_ws(f"{server.url}?user_id={owner}")
        ws_stranger = await up.open_ws(f"{server.url}?user_id={stranger}")
        async with ws_owner, ws_stranger:
            project = await up.create_project(ws_owner)
            for _ in range(8):
                await up.call(ws_stranger, "get_work_items_request", project_id=project.id)
            listed = await up.call(ws_owner, "get_work_items_request", project_id=project.id)
            assert listed.WhichOneof("payload") == "work_items_list"
            assert server.breaker is None


async def test_envelope_without_payload_carries_pm_servers_text() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url)
        async with ws:
            mid = new_id()
            await ws.send(pb.WebSocketMessage(message_id=mid, timestamp=1).SerializeToString())
            answer = pb.WebSocketMessage.FromString(await ws.recv())
            assert answer.message_id == mid
            assert answer.error.code == "INVALID_MESSAGE"
            assert answer.error.message.startswith("Invalid message: Unsupported or missing message payload")


async def test_undecodable_frame_still_delivers_what_was_queued_before_the_drop() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url)
        ping = make("ping", timestamp=77)
        await ws.send(ping.SerializeToString())
        await ws.send(b"\x0a\x7f")
        async with asyncio.timeout(TIMEOUT):
            answer = pb.WebSocketMessage.FromString(await ws.recv())
            assert answer.pong.timestamp == 77
            with pytest.raises(ConnectionClosedError):
                await ws.recv()
        assert ws.protocol.close_rcvd is None
        assert server.counters.undecodable_frames == 1


async def test_websocket_pings_are_answered_with_pongs() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url)
        async with ws, asyncio.timeout(TIMEOUT):
            latency = await (await ws.ping(b"hb"))
            assert latency >= 0


async def test_frames_up_to_axums_64_mib_limit_are_accepted() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url, max_size=None)  # the answer echoes the big message_id
        async with ws:
            big = pb.WebSocketMessage(message_id="x" * (2 << 20), timestamp=1)
            big.ping.timestamp = 5
            await ws.send(big.SerializeToString())
            async with asyncio.timeout(TIMEOUT):
                answer = pb.WebSocketMessage.FromString(await ws.recv())
            assert answer.pong.timestamp == 5


class _FakeTime:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value


def test_server_breaker_stays_open_forever_with_upstreams_clock_bug() -> None:
    now, clock = _FakeTime(), _FakeTime(0.0)
    breaker = ServerCircuitBreaker(ServerBreakerSettings(), now=now, clock=clock)
    for _ in range(4):
        breaker.record("failure")
    assert breaker.retry_after() is None
    breaker.record("failure")
    assert breaker.state == ServerBreakerState.OPEN
    for elapsed in (0.0, 29.0, 31.0, 3600.0):
        clock.value = elapsed
        assert breaker.retry_after() == 30  # upstream's Instant::now().elapsed() is always 0
    assert breaker.state == ServerBreakerState.OPEN


def test_server_breaker_without_the_bug_half_opens_and_closes_after_three_successes() -> None:
    now, clock = _FakeTime(), _FakeTime(0.0)
    breaker = ServerCircuitBreaker(ServerBreakerSettings(stuck_open=False), now=now, clock=clock)
    for _ in range(5):
        breaker.record("failure")
    clock.value = 12.0
    assert breaker.retry_after() == 18
    clock.value = 30.0
    assert breaker.retry_after() is None
    assert breaker.state == ServerBreakerState.HALF_OPEN
    breaker.record("failure")  # one failure re-opens it
    assert breaker.state == ServerBreakerState.OPEN
    clock.value = 60.0
    assert breaker.retry_after() is None
    for _ in range(2):
        breaker.record("success")
    assert breaker.state == ServerBreakerState.HALF_OPEN
    breaker.record("success")
    assert breaker.state == ServerBreakerState.CLOSED


def test_server_breaker_counts_failures_in_a_window_of_whole_seconds_and_successes_reset() -> None:
    now = _FakeTime()
    breaker = ServerCircuitBreaker(ServerBreakerSettings(), now=now, clock=_FakeTime(0.0))
    for _ in range(4):
        breaker.record("failure")
    now.value += 60  # exactly the window: still counted
    breaker.record("failure")
    assert breaker.state == ServerBreakerState.OPEN
    breaker.reset()
    for _ in range(4):
        breaker.record("failure")
    now.value += 61  # beyond the window: the count starts again
    breaker.record("failure")
    assert breaker.state == ServerBreakerState.CLOSED
    for _ in range(3):
        breaker.record("failure")
    breaker.record("success")
    breaker.record("failure")
    assert breaker.state == ServerBreakerState.CLOSED


@pytest.mark.parametrize(
    ("kind", "code", "effects", "field"),
    [
        ("ping", None, (), None),
        ("subscribe", "INVALID_MESSAGE", (), None),
        ("get_work_items_request", None, ("success",), None),
        ("get_work_items_request", "UNAUTHORIZED", ("failure",), None),
        ("get_sprints_request", "UNAUTHORIZED", ("failure",), None),
        ("update_work_item_request", "UNAUTHORIZED", ("success", "failure"), None),
        ("update_work_item_request", "DATABASE_ERROR", ("success", "failure"), None),
        ("update_sprint_request", "CONFLICT", ("success",), None),
        ("create_work_item_request", "VALIDATION_ERROR", (), None),
        ("create_work_item_request", "VALIDATION_ERROR", (), "title"),
        ("create_work_item_request", "VALIDATION_ERROR", ("success",), "project_id"),
        ("create_work_item_request", "VALIDATION_ERROR", ("success", "failure"), "parent_id"),
        ("update_sprint_request", "VALIDATION_ERROR", ("success",), "status"),
        ("update_sprint_request", "VALIDATION_ERROR", (), "sprint_id"),
        ("get_sprints_request", "VALIDATION_ERROR", (), "project_id"),
    ],
)
def test_breaker_effects_follow_upstreams_database_operations(
    kind: str, code: str | None, effects: tuple[str, ...], field: str | None
) -> None:
    assert breaker_effects(kind, code, field) == effects


@pytest.mark.parametrize(
    "bad", [{"failure_threshold": 0}, {"open_duration_seconds": 301}, {"failure_window_seconds": 0}]
)
def test_server_breaker_settings_keep_pm_configs_ranges(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        ServerBreakerSettings(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("67e55044-10b1-426f-9247-bb680e5fe0c8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("67E5504410B1426F9247BB680E5FE0C8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("{67e55044-10b1-426f-9247-bb680e5fe0c8}", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8", "67e55044-10b1-426f-9247-bb680e5fe0c8"),
        ("urn:uuid:67e5504410b1426f9247bb680e5fe0c8", None),
        ("{67e5504410b1426f9247bb680e5fe0c8}", None),
        ("67e55044-10b1426f-9247-bb680e5fe0c8", None),
        (" 67e55044-10b1-426f-9247-bb680e5fe0c8", None),
        ("local-user", None),
        ("", None),
    ],
)
def test_parse_upstream_uuid_accepts_exactly_uuid_parse_strs_spellings(
    text: str, expected: str | None
) -> None:
    parsed = parse_upstream_uuid(text)
    assert (str(parsed) if parsed is not None else None) == expected


def test_pm_serve_flags_become_server_options_with_pm_servers_defaults(tmp_path: Path) -> None:
    parser = build_parser()
    defaults = connection_options(parser.parse_args(["serve"]))
    assert defaults["max_connections"] == 10_000
    assert defaults["handler_timeout"] == 30.0
    assert defaults["server_breaker"] == ServerBreakerSettings()
    assert defaults["jwt_secret"] is None
    assert defaults["desktop_user_id"] == "local-user"
    pem = tmp_path / "key.pem"
    pem.write_text("PEM")
    args = parser.parse_args(
        ["serve", "--max-connections", "none", "--handler-timeout", "2.5", "--no-server-breaker",
         "--jwt-public-key", str(pem), "--desktop-user-id", ""]
    )  # fmt: skip
    options = connection_options(args)
    assert options["max_connections"] is None
    assert options["handler_timeout"] == 2.5
    assert options["server_breaker"] is None
    assert options["jwt_public_key"] == "PEM"
    assert options["desktop_user_id"] == ""


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"exp": 970}, True),  # now is 1000 whole seconds: 970 + 30 is not before it
        ({"exp": 969}, False),
        ({"exp": 969.5}, False),  # pm-auth's Claims wants an integer exp
        ({"exp": 2000, "nbf": 1030}, True),
        ({"exp": 2000, "nbf": 1031}, False),
        ({"exp": 2000, "nbf": "soon"}, True),  # an unreadable nbf is not checked
        ({"exp": -5}, False),
    ],
)
def test_jwt_time_checks_use_whole_seconds_and_a_30_second_leeway(
    claims: dict[str, object], accepted: bool
) -> None:
    secret = b"s" * 32
    validator = JwtValidator.hs256(secret, now=lambda: 1000.9)
    token = jwt.encode({"sub": "someone", "iat": 1, **claims}, secret, algorithm="HS256")
    if accepted:
        assert validator.subject(token) == "someone"
    else:
        with pytest.raises(InvalidTokenError):
            validator.subject(token)


async def test_pm_serve_enforces_its_connection_flags_end_to_end() -> None:
    """``pm serve --jwt-secret S --max-connections 1`` as a real process: 401, then 503 when full."""
    secret = up.TEST_JWT_SECRET.decode()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "projectmanagement_services.cli", "serve", "--port", "0",
        "--jwt-secret", secret, "--max-connections", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        async with asyncio.timeout(15):
            line = (await process.stdout.readline()).decode()
        assert line.startswith("pm serve: data "), line
        assert " listening on ws://" in line, line
        url = line.split()[-1]
        assert await up.refused_status(url) == 401
        ws = await up.open_ws(url, up.bearer(up.create_test_token("user-1")))
        async with ws:
            assert await up.refused_status(url, up.bearer(up.create_test_token("user-2"))) == 503
    finally:
        process.terminate()
        async with asyncio.timeout(15):
            await process.communicate()
    assert process.returncode == 0


def test_pm_serve_refuses_a_short_jwt_secret_and_mixed_auth_modes_with_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["serve", "--jwt-secret", "short"]) == 2
    assert "at least 32" in capsys.readouterr().err
    assert cli_main(["serve", "--token", "t", "--jwt-secret", "x" * 32]) == 2
    assert "exclude" in capsys.readouterr().err
    assert cli_main(["serve", "--handler-timeout", "0"]) == 2


class _PongCountingConnection(ClientConnection):
    """A client connection that counts the Pong frames it receives (websockets hides them)."""

    pongs = 0
    second_pong: asyncio.Event

    def process_event(self, event: object) -> None:
        super().process_event(event)  # type: ignore[arg-type]
        if isinstance(event, Frame) and event.opcode is Opcode.PONG:
            self.pongs += 1
            if self.pongs == 2:
                self.second_pong.set()


async def test_a_websocket_ping_gets_two_pongs_as_from_axum_on_tungstenite() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url, create_connection=_PongCountingConnection)
        assert isinstance(ws, _PongCountingConnection)
        ws.second_pong = asyncio.Event()
        async with ws, asyncio.timeout(TIMEOUT):
            await (await ws.ping(b"hb"))
            await ws.second_pong.wait()
            assert (await up.call(ws, "ping", timestamp=4)).pong.timestamp == 4
        assert ws.pongs == 2


async def test_websocket_pings_cost_rate_limit_tokens_as_any_message() -> None:
    async with PmTestServer() as server:
        ws = await up.open_ws(server.url)
        async with ws, asyncio.timeout(TIMEOUT):
            with server.faults.rate_limit(burst=1, period=3600):
                await (await ws.ping(b"first"))  # takes the only token
                await ws.send(make("ping", timestamp=1).SerializeToString())
                assert await ws.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"
                await (await ws.ping(b"second"))  # refused too, but websockets' own Pong still comes
                assert await ws.recv() == "Rate limit exceeded. Slow down. (2/5 warnings)"
        assert server.counters.rate_limited == 2
