"""Bad input never kills the server: random bytes and random valid-but-nonsensical messages.

Hypothesis drives a synchronous ``websockets`` client against one server running on its own event
loop in a background thread, so each example is a plain function call.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer

USER = str(uuid.uuid4())
PAYLOADS = [field.name for field in pb.WebSocketMessage.DESCRIPTOR.oneofs_by_name["payload"].fields]
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}


class FuzzTarget:
    """A server on a background loop, with one project owned by ``USER`` whose ids seed the fuzzer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = PmTestServer()
        self.run(self.server.start())
        self.url = f"{self.server.url}?user_id={USER}"
        with connect(self.url) as ws:
            project = request(
                ws, _envelope("create_project_request", key="FUZZ", title="Fuzz")
            ).project_created.project
            epic = _envelope("create_work_item_request", project_id=project.id, title="e", item_type=pb.EPIC)
            item = request(ws, epic).work_item_created.work_item
        self.ids = [project.id, item.id, USER, str(uuid.uuid4()), "", "not-a-uuid", "FUZZ"]

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def close(self) -> None:
        self.run(self.server.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _envelope(kind: str, **fields: Any) -> pb.WebSocketMessage:
    envelope = pb.WebSocketMessage(message_id=str(uuid.uuid4()), timestamp=1)
    payload = getattr(envelope, kind)
    payload.SetInParent()
    for name, value in fields.items():
        setattr(payload, name, value)
    return envelope


def request(ws: ClientConnection, envelope: pb.WebSocketMessage) -> pb.WebSocketMessage:
    """Send and return the answer, skipping broadcasts and warnings."""
    ws.send(envelope.SerializeToString())
    while True:
        frame = ws.recv(timeout=5)
        if isinstance(frame, bytes):
            answer = pb.WebSocketMessage.FromString(frame)
            if answer.message_id == envelope.message_id:
                return answer


@pytest.fixture(scope="module")
def target() -> Iterator[FuzzTarget]:
    fuzz = FuzzTarget()
    yield fuzz
    fuzz.close()
    assert fuzz.server.counters.internal_errors == 0
    assert fuzz.server.counters.undecodable_frames > 0  # the fuzzer did reach the decode-error path
    assert sum(fuzz.server.counters.requests_by_type.values()) > 100  # and the request handlers


def _fill(draw: st.DrawFn, message: Message, descriptor: Descriptor, ids: list[str], depth: int) -> None:
    """Set a random subset of ``message``'s fields to random values of the right wire type."""
    for field in descriptor.fields:
        if not draw(st.booleans()):
            continue
        count = draw(st.integers(0, 3)) if field.is_repeated else 1
        for _ in range(count):
            value: Any
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                if depth >= 2:
                    continue
                holder = getattr(message, field.name)
                child = holder.add() if field.is_repeated else holder
                child.SetInParent()
                _fill(draw, child, field.message_type, ids, depth + 1)
                continue
            if field.type == FieldDescriptor.TYPE_STRING:
                value = draw(
                    st.one_of(st.sampled_from(ids), st.text(max_size=40), st.text(min_size=190, max_size=260))
                )
            elif field.type == FieldDescriptor.TYPE_BOOL:
                value = draw(st.booleans())
            elif field.type == FieldDescriptor.TYPE_ENUM:
                value = draw(st.integers(-2, 6))
            else:
                low, high = _INT_RANGES[field.type]
                value = draw(st.one_of(st.integers(-2, 120), st.integers(low, high)))
            if field.is_repeated:
                getattr(message, field.name).append(value)
            else:
                setattr(message, field.name, value)


@st.composite
def nonsense_envelopes(draw: st.DrawFn, ids: list[str]) -> bytes:
    """A well-formed envelope with a random payload filled with random, mostly meaningless values."""
    envelope = pb.WebSocketMessage(
        message_id=draw(st.one_of(st.just(str(uuid.uuid4())), st.sampled_from(ids), st.text(max_size=10))),
        timestamp=draw(st.integers(-(2**63), 2**63 - 1)),
    )
    kind = draw(st.sampled_from([*PAYLOADS, None]))
    if kind is not None:
        payload = getattr(envelope, kind)
        payload.SetInParent()
        _fill(draw, payload, payload.DESCRIPTOR, ids, 0)
    return envelope.SerializeToString()


def _frames(ids: list[str]) -> st.SearchStrategy[list[bytes | str]]:
    frame = st.one_of(st.binary(max_size=300), nonsense_envelopes(ids), st.text(max_size=50))
    return st.lists(frame, min_size=1, max_size=6)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_server_survives_garbage_and_answers_the_next_good_request(
    target: FuzzTarget, data: st.DataObject
) -> None:
    frames = data.draw(_frames(target.ids))
    with connect(target.url) as ws:
        try:
            for frame in frames:
                ws.send(frame)
        except ConnectionClosed:
            pass  # an undecodable frame costs the connection, as pm-server
    with connect(target.url) as ws:
        pong = request(ws, _envelope("ping", timestamp=42))
        assert pong.pong.timestamp == 42
        listed = request(ws, _envelope("get_work_items_request", project_id=target.ids[0]))
        assert listed.WhichOneof("payload") == "work_items_list"
