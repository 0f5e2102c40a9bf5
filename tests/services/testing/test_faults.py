"""Every fault control does what it says, and each one is scoped."""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.message import DecodeError
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import TIMEOUT, Connect, RawClient, assert_error, make, new_id


async def test_drop_all_aborts_tcp_without_a_close_frame(server: PmTestServer, connect: Connect) -> None:
    clients = [await connect() for _ in range(3)]
    await server.faults.drop_all()
    assert server.connection_count == 0
    for client in clients:
        with pytest.raises(ConnectionClosedError):
            await client.recv()
        assert client.ws.protocol.close_rcvd is None
    again = await connect()
    assert (await again.call("ping", timestamp=1)).pong.timestamp == 1


async def test_close_all_sends_a_close_frame_with_the_code(server: PmTestServer, alice: RawClient) -> None:
    await server.faults.close_all(code=1008, reason="policy")
    with pytest.raises(ConnectionClosed):
        await alice.recv()
    assert alice.ws.protocol.close_rcvd is not None
    assert (alice.ws.close_code, alice.ws.close_reason) == (1008, "policy")


async def test_refuse_handshakes_answers_the_next_n_with_http_503(
    server: PmTestServer, connect: Connect
) -> None:
    server.faults.refuse_handshakes(2)
    for _ in range(2):
        with pytest.raises(InvalidStatus) as caught:
            await connect()
        assert caught.value.response.status_code == 503
    client = await connect()
    assert (await client.call("ping", timestamp=2)).pong.timestamp == 2
    assert (server.counters.handshakes_refused, server.counters.handshakes_accepted) == (2, 1)


async def test_refuse_handshakes_with_another_status(server: PmTestServer, connect: Connect) -> None:
    server.faults.refuse_handshakes(1, status=429)
    with pytest.raises(InvalidStatus) as caught:
        await connect()
    assert caught.value.response.status_code == 429


async def test_delay_answers_sleeps_before_each_answer_while_inside() -> None:
    delays: list[float] = []
    release = asyncio.Event()
    slept = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        delays.append(seconds)
        slept.set()
        await release.wait()

    async with PmTestServer(sleep=held_sleep) as server, ws_connect(server.url) as ws:
        client = RawClient(ws, "?")
        with server.faults.delay_answers(2.5):
            ping = make("ping", timestamp=9)
            await client.send(ping)
            async with asyncio.timeout(TIMEOUT):
                await slept.wait()
            assert delays == [2.5]  # the answer is held in the delay, not yet queued
            release.set()
            answer = await client.recv_message()
            assert answer.message_id == ping.message_id
        assert (await client.call("ping", timestamp=1)).pong.timestamp == 1
        assert delays == [2.5]  # outside the block: no more delay
        server.faults.set_delay(0.25)
        await client.call("ping", timestamp=1)
        server.faults.set_delay(0)
        await client.call("ping", timestamp=1)
        assert delays == [2.5, 0.25]


async def test_swallow_answers_processes_the_request_but_sends_nothing(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    server.faults.swallow_answers(1)
    create = make("create_work_item_request", project_id=project.id, title="lost answer", item_type=pb.TASK)
    await alice.send(create)
    pong, before = await alice.request(make("ping", timestamp=4))  # pings are not swallowed
    assert (pong.pong.timestamp, before) == (4, [])  # the create's answer never came
    assert [i.title for i in server.work_items(project.id)] == ["lost answer"]
    assert server.counters.answers_swallowed == 1
    replay, _ = await alice.request(create)  # the retry with the same id gets the stored answer
    assert replay.work_item_created.work_item.title == "lost answer"
    assert server.counters.replays_served == 1


async def test_swallow_pongs_leaves_pings_unanswered(server: PmTestServer, alice: RawClient) -> None:
    server.faults.swallow_pongs(1)
    await alice.send(make("ping", timestamp=1))
    answer, before = await alice.request(make("ping", timestamp=2))
    assert (answer.pong.timestamp, before) == (2, [])


@pytest.mark.parametrize("code", ["SERVICE_UNAVAILABLE", "TIMEOUT", "DATABASE_ERROR", "INTERNAL_ERROR"])
async def test_fail_requests_answers_the_next_n_with_the_error_unprocessed(
    server: PmTestServer, alice: RawClient, project: pb.Project, code: str
) -> None:
    server.faults.fail_requests(2, code=code, message="Retry after 3 seconds")
    first = make("create_work_item_request", project_id=project.id, title="a", item_type=pb.TASK)
    answer, _ = await alice.request(first)
    assert answer.message_id == first.message_id
    assert assert_error(answer, code).message == "Retry after 3 seconds"
    assert (await alice.call("ping", timestamp=1)).pong.timestamp == 1  # pings do not count
    assert_error(await alice.call("get_work_items_request", project_id=project.id), code)
    assert server.work_items(project.id) == []
    retried, _ = await alice.request(first)  # failed unprocessed, so nothing was stored for this id
    assert retried.work_item_created.work_item.title == "a"


async def test_send_malformed_sends_an_undecodable_binary_frame(
    server: PmTestServer, alice: RawClient
) -> None:
    await alice.call("ping", timestamp=1)
    await server.faults.send_malformed()
    frame = await alice.ws.recv()
    assert isinstance(frame, bytes)
    with pytest.raises(DecodeError):
        pb.WebSocketMessage.FromString(frame)


async def test_send_text_sends_a_text_frame(server: PmTestServer, alice: RawClient) -> None:
    await alice.call("ping", timestamp=1)
    await server.faults.send_text("Rate limit exceeded. Slow down. (1/5 warnings)")
    assert await alice.recv() == "Rate limit exceeded. Slow down. (1/5 warnings)"


@pytest.mark.parametrize("size", [1, 100, 70_000])
async def test_send_oversized_sends_a_frame_of_exactly_that_size(
    server: PmTestServer, alice: RawClient, size: int
) -> None:
    await alice.call("ping", timestamp=1)
    await server.faults.send_oversized(size)
    frame = await alice.ws.recv()
    assert isinstance(frame, bytes)
    assert len(frame) == size


async def test_send_unknown_payload_sends_a_valid_envelope_with_field_70(
    server: PmTestServer, alice: RawClient
) -> None:
    await alice.call("ping", timestamp=1)
    await server.faults.send_unknown_payload()
    frame = await alice.ws.recv()
    assert isinstance(frame, bytes)
    decoded = pb.WebSocketMessage.FromString(frame)
    assert decoded.WhichOneof("payload") is None
    assert frame.endswith(b"\xb2\x04\x00")


async def test_clear_disarms_every_fault(server: PmTestServer, connect: Connect) -> None:
    server.faults.refuse_handshakes(5)
    server.faults.swallow_answers(5)
    server.faults.fail_requests(5)
    server.faults.set_delay(1.0)
    server.faults.set_rate_limit(1)
    server.faults.clear()
    client = await connect()
    for _ in range(3):
        assert (await client.call("subscribe", project_ids=[new_id()])).WhichOneof("payload") is None
    assert server.faults.delay == 0


async def test_stop_drops_connections_and_start_serves_the_same_port(
    server: PmTestServer, alice: RawClient
) -> None:
    port = server.port
    await server.stop()
    with pytest.raises(ConnectionClosedError):
        await alice.recv()
    assert alice.ws.protocol.close_rcvd is None
    with pytest.raises(OSError):
        await ws_connect(server.url)
    await server.start()
    assert server.port == port
    async with ws_connect(server.url) as ws:
        assert (await RawClient(ws, "?").call("ping", timestamp=6)).pong.timestamp == 6


async def test_drop_all_and_stop_do_not_wait_for_a_delayed_answer() -> None:
    parked = asyncio.Event()

    async def never_wakes(seconds: float) -> None:
        parked.set()
        await asyncio.Event().wait()

    async with PmTestServer(sleep=never_wakes) as server:
        for stop in (server.faults.drop_all, server.stop):
            parked.clear()
            async with ws_connect(server.url) as ws:
                server.faults.set_delay(30)
                await RawClient(ws, "?").send(make("ping", timestamp=1))
                async with asyncio.timeout(TIMEOUT):
                    await parked.wait()
                    await stop()
                assert server.connection_count == 0
                server.faults.set_delay(0)
            if not server.is_running:
                await server.start()
