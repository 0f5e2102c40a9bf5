"""Bad input never kills the server, and no peer can store poison: whatever it sends, everything the
server answers to anyone afterwards converts with this project's converters.

Hypothesis drives a synchronous ``websockets`` client against one server running on its own event
loop in a background thread, so each example is a plain function call. Integers are drawn with the
wire types' edges (int32 and int64 limits, the first and last second a client can read) so the
overflow and date-range paths are reached, not just small numbers.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from projectmanagement_core import converters
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer

USER = str(uuid.uuid4())
PAYLOADS = [field.name for field in pb.WebSocketMessage.DESCRIPTOR.oneofs_by_name["payload"].fields]
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
}
#: Where overflows and unreadable dates live: int32/int64 limits, years 1, 9999, 10000 and 100000.
_EDGES = (
    -(2**63),
    -(2**31),
    -62_135_596_801,
    -62_135_596_800,
    -1,
    0,
    1,
    2**31 - 2,
    2**31 - 1,
    253_402_300_799,
    253_402_300_800,
    3_093_527_980_800,
    2**63 - 1,
)


def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    """Small numbers (versions, points), the edges that fit ``[low, high]``, or anything in it."""
    edges = [edge for edge in _EDGES if low <= edge <= high]
    return st.one_of(st.integers(-2, 120), st.sampled_from(edges), st.integers(low, high))


def assert_converts(envelope: pb.WebSocketMessage) -> None:
    """Convert every entity an answer or broadcast carries, as the client would; poison raises."""
    kind = envelope.WhichOneof("payload")
    if kind == "work_items_list":
        for item in envelope.work_items_list.work_items:
            converters.work_item_from_proto(item)
    elif kind == "sprints_list":
        for sprint in envelope.sprints_list.sprints:
            converters.sprint_from_proto(sprint)
    elif kind == "project_list":
        for project in envelope.project_list.projects:
            converters.project_from_proto(project)
    elif kind == "activity_log_created":
        converters.activity_log_entry_from_proto(envelope.activity_log_created.entry)
    elif kind in _EVENT_CONVERTERS:
        _EVENT_CONVERTERS[kind](getattr(envelope, kind))


_EVENT_CONVERTERS: dict[str, Callable[[Any], object]] = {
    "work_item_created": converters.work_item_created_from_proto,
    "work_item_updated": converters.work_item_updated_from_proto,
    "work_item_deleted": converters.work_item_deleted_from_proto,
    "sprint_created": converters.sprint_created_from_proto,
    "sprint_updated": converters.sprint_updated_from_proto,
    "sprint_deleted": converters.sprint_deleted_from_proto,
    "project_created": converters.project_created_from_proto,
    "project_updated": converters.project_updated_from_proto,
    "project_deleted": converters.project_deleted_from_proto,
}


class FuzzTarget:
    """A server on a background loop, with one project owned by ``USER`` whose ids seed the fuzzer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # pm-server's breaker sticks open after 5 failures, hiding every later request's outcome.
        self.server = PmTestServer(server_breaker=None)
        self.run(self.server.start())
        self.url = f"{self.server.url}?user_id={USER}"
        with connect(self.url) as ws:
            project = request(
                ws, _envelope("create_project_request", key="FUZZ", title="Fuzz")
            ).project_created.project
            epic = _envelope("create_work_item_request", project_id=project.id, title="e", item_type=pb.EPIC)
            item = request(ws, epic).work_item_created.work_item
            start = int(time.time()) + 86_400
            sprint = _envelope(
                "create_sprint_request", project_id=project.id, name="s", start_date=start, end_date=start + 1
            )
            sprint_id = request(ws, sprint).sprint_created.sprint.id
        self.project_id = project.id
        self.ids = [project.id, item.id, sprint_id, USER, str(uuid.uuid4()), "", "not-a-uuid", "FUZZ"]

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
        if isinstance(value, list):
            getattr(payload, name).extend(value)
        else:
            setattr(payload, name, value)
    return envelope


def request(ws: ClientConnection, envelope: pb.WebSocketMessage) -> pb.WebSocketMessage:
    """Send and return the answer; every binary frame up to it (broadcasts too) must convert."""
    ws.send(envelope.SerializeToString())
    while True:
        frame = ws.recv(timeout=5)
        if isinstance(frame, bytes):
            answer = pb.WebSocketMessage.FromString(frame)
            assert_converts(answer)
            if answer.message_id == envelope.message_id:
                return answer


def assert_stored_data_converts(target: FuzzTarget) -> None:
    """What any client of the project gets from now on (its lists) converts."""
    with connect(target.url) as ws:
        for kind in ("get_work_items_request", "get_sprints_request"):
            listed = request(ws, _envelope(kind, project_id=target.project_id))
            assert listed.WhichOneof("payload") in ("work_items_list", "sprints_list"), listed
        listed = request(ws, _envelope("list_projects_request"))  # every client sees every project
        assert listed.WhichOneof("payload") == "project_list", listed


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
                assert field.message_type is not None
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
                value = draw(_ints(*_INT_RANGES[field.type]))
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
            request(ws, _envelope("subscribe", project_ids=[target.project_id]))
            for frame in frames:
                ws.send(frame)
            request(ws, _envelope("ping", timestamp=7))  # every answer and broadcast before it converts
        except ConnectionClosed:
            pass  # an undecodable frame costs the connection, as pm-server
    with connect(target.url) as ws:
        pong = request(ws, _envelope("ping", timestamp=42))
        assert pong.pong.timestamp == 42
    assert_stored_data_converts(target)


def _state(ws: ClientConnection, project_id: str) -> tuple[list[pb.WorkItem], list[pb.Sprint]]:
    items = request(ws, _envelope("get_work_items_request", project_id=project_id)).work_items_list.work_items
    sprints = request(ws, _envelope("get_sprints_request", project_id=project_id)).sprints_list.sprints
    return list(items), list(sprints)


#: Dates on both sides of what a client can read (years 0/1, 9999/10000, 100000) and the int64 limits.
_DATE_EDGES = (
    -(2**63),
    -62_135_596_801,
    -62_135_596_800,
    253_402_300_799,
    253_402_300_800,
    3_093_527_980_800,
    2**63 - 1,
)
_INT32 = _INT_RANGES[FieldDescriptor.TYPE_INT32]
_KINDS = (
    "create_work_item_request",
    "create_sprint_request",
    "update_work_item_request",
    "update_sprint_request",
)


@st.composite
def hostile_plans(draw: st.DrawFn) -> dict[str, Any]:
    """Everything a step needs, drawn the same way whatever the server holds (so examples replay)."""
    now = int(time.time())
    near = st.integers(0, 400 * 86_400).map(lambda offset: now + offset)
    date = st.one_of(
        st.none(), st.sampled_from(_DATE_EDGES), near, st.integers(*_INT_RANGES[FieldDescriptor.TYPE_INT64])
    )
    int32 = st.one_of(st.none(), st.just(_INT32[1]), st.integers(-2, 120), st.integers(*_INT32))
    return {
        "kind": draw(st.sampled_from(_KINDS)),
        "pick": draw(st.integers(0, 50)),  # which item or sprint (modulo how many there are)
        "item_type": draw(st.sampled_from([pb.EPIC, pb.STORY, pb.TASK])),
        "under_parent": draw(st.booleans()),
        "title": draw(st.sampled_from(["t", "changed"])),
        "position": draw(int32),
        "story_points": draw(int32),
        "start_date": draw(date),
        "end_date": draw(date),
        "status": draw(st.one_of(st.none(), st.integers(0, 4))),
    }


def hostile_request(
    plan: dict[str, Any], project_id: str, items: list[pb.WorkItem], sprints: list[pb.Sprint]
) -> pb.WebSocketMessage:
    """A well-formed request on real entities (current versions) carrying the plan's edge values."""
    kind = plan["kind"]
    if kind == "update_work_item_request" and items:
        item = items[plan["pick"] % len(items)]
        fields = {"work_item_id": item.id, "expected_version": item.version, "title": plan["title"]}
        fields |= {name: plan[name] for name in ("position", "story_points") if plan[name] is not None}
        return _envelope(kind, **fields)
    if kind == "update_sprint_request" and sprints:
        sprint = sprints[plan["pick"] % len(sprints)]
        fields = {"sprint_id": sprint.id, "expected_version": sprint.version}
        fields |= {
            name: plan[name] for name in ("start_date", "end_date", "status") if plan[name] is not None
        }
        return _envelope(kind, **fields)
    if kind == "create_sprint_request":
        start, end = plan["start_date"] or 0, plan["end_date"] or 0
        return _envelope(kind, project_id=project_id, name="s", start_date=start, end_date=end)
    fields = {"project_id": project_id, "title": "t", "item_type": plan["item_type"]}
    parents = [i.id for i in items if i.item_type in (pb.EPIC, pb.STORY)]
    if parents and plan["under_parent"]:
        fields["parent_id"] = parents[plan["pick"] % len(parents)]
    return _envelope("create_work_item_request", **fields)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_request_stores_anything_a_client_cannot_convert(target: FuzzTarget, data: st.DataObject) -> None:
    """Sequences on one fresh project each (so an example replays alone): every frame and list converts."""
    with connect(target.url) as ws:
        project = request(ws, _envelope("create_project_request", key=f"H{uuid.uuid4().hex[:8]}", title="h"))
        project_id = project.project_created.project.id
        request(ws, _envelope("subscribe", project_ids=[project_id]))
        start = int(time.time()) + 86_400
        for seed in (
            _envelope("create_work_item_request", project_id=project_id, title="e", item_type=pb.EPIC),
            _envelope("create_work_item_request", project_id=project_id, title="t", item_type=pb.TASK),
            _envelope(
                "create_sprint_request", project_id=project_id, name="s", start_date=start, end_date=start + 1
            ),
        ):
            assert request(ws, seed).WhichOneof("payload") != "error"
        for _ in range(data.draw(st.integers(1, 8), label="steps")):
            items, sprints = _state(ws, project_id)
            answer = request(ws, hostile_request(data.draw(hostile_plans()), project_id, items, sprints))
            assert answer.WhichOneof("payload") != "error" or answer.error.code != "INTERNAL_ERROR", answer
        _state(ws, project_id)  # the lists convert (request checks every frame)
