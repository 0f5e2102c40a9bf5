"""The sans-I/O protocol core: bytes in, typed events out; no network, no event loop."""

from __future__ import annotations

import re
import uuid

import pytest
from google.protobuf.internal import encoder

from projectmanagement_core import converters
from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import WorkItemCreated
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.websocket import protocol
from projectmanagement_services.websocket.protocol import (
    Ack,
    Answer,
    Broadcast,
    ErrorAnswer,
    FrameCodec,
    MalformedFrame,
    Oversized,
    Pong,
    TextFrame,
    UnknownPayload,
    check_message_id,
    head_message_id,
    new_message_id,
)
from tests.services.websocket.fakes import activity_entry, envelope, make_work_item, work_item_created

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MID = "3f2b8c1e-9a4d-4e6f-8b1a-2c3d4e5f6a7b"


def codec(limit: int = 1024) -> FrameCodec:
    return FrameCodec(limit, wall_clock=lambda: 1_700_000_123.9)


def decode(data: bytes | str, awaited: set[str] | None = None, limit: int = 1_000_000):
    return codec(limit).decode(data, is_awaited=(awaited or set()).__contains__)


def parsed(data: bytes) -> pb.WebSocketMessage:
    message = pb.WebSocketMessage()
    message.ParseFromString(data)
    return message


# ------------------------------------------------------------------ encoding


def test_encode_assigns_a_fresh_lowercase_uuid4_and_unix_seconds() -> None:
    frames = [codec().encode("list_projects_request", pb.ListProjectsRequest()) for _ in range(3)]
    ids = {f.message_id for f in frames}
    assert len(ids) == 3
    for frame in frames:
        assert UUID4.match(frame.message_id)
        message = parsed(frame.data)
        assert message.message_id == frame.message_id
        assert message.timestamp == 1_700_000_123
        assert message.WhichOneof("payload") == "list_projects_request"


def test_encode_keeps_a_caller_chosen_id_for_retries() -> None:
    payload = pb.DeleteWorkItemRequest(work_item_id=str(uuid.uuid4()))
    frame = codec().encode("delete_work_item_request", payload, message_id=MID)
    assert frame.message_id == MID
    message = parsed(frame.data)
    assert message.message_id == MID
    assert message.delete_work_item_request.work_item_id == payload.work_item_id


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-uuid",
        MID.upper(),
        MID.replace("-", ""),
        "{" + MID + "}",
        "urn:uuid:" + MID,
        MID + "\n",
        " " + MID,
        MID[:-1] + "g",
        MID[:8] + MID[9:13] + "-" + MID[13:],  # hyphens moved
    ],
)
def test_encode_rejects_a_non_canonical_message_id(bad: str) -> None:
    with pytest.raises(ValidationException) as info:
        codec().encode("list_projects_request", pb.ListProjectsRequest(), message_id=bad)
    assert info.value.fields == ["message_id"]


def test_check_message_id_accepts_generated_ids() -> None:
    generated = new_message_id()
    assert check_message_id(generated) == generated


def test_check_message_id_accepts_exactly_what_str_uuid_prints() -> None:
    for value in (uuid.uuid4(), uuid.uuid1(), uuid.UUID(int=0), uuid.UUID(int=2**128 - 1)):
        assert check_message_id(str(value)) == str(value)
    with pytest.raises(ValidationException):
        check_message_id(uuid.uuid4())  # type: ignore[arg-type]  # a UUID object is not the wire form


def test_new_message_ids_are_random_canonical_uuid4s() -> None:
    ids = [new_message_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for message_id in ids:
        parsed_id = uuid.UUID(message_id)
        assert str(parsed_id) == message_id
        assert parsed_id.version == 4
        assert parsed_id.variant == uuid.RFC_4122
    # every variant nibble (8, 9, a, b) and many version-free nibbles occur: the bits are random
    assert {m[19] for m in ids} == set("89ab")
    assert len({m[0] for m in ids}) == 16


def test_ids_the_client_made_are_not_checked_again_but_a_callers_are(monkeypatch: pytest.MonkeyPatch) -> None:
    issued = new_message_id()
    copied = str(uuid.UUID(issued))  # the same text, but a caller's string
    # A pattern that matches nothing: only an id that skips the check can still pass.
    monkeypatch.setattr(protocol, "_CANONICAL_UUID", re.compile(r"(?!)"))
    assert check_message_id(issued) is issued
    with pytest.raises(ValidationException):
        check_message_id(copied)


def test_an_issued_id_is_a_plain_string_on_the_wire() -> None:
    issued = new_message_id()
    frame = codec().encode("ping", pb.Ping(timestamp=1), message_id=issued)
    decoded = pb.WebSocketMessage.FromString(frame.data)
    assert decoded.message_id == issued
    assert hash(issued) == hash(str(issued))
    assert f"{issued}" == issued


def test_encode_refuses_payloads_a_client_never_sends() -> None:
    with pytest.raises(ValueError, match="not a request payload"):
        codec().encode("pong", pb.Pong())


def test_encode_ping_carries_the_wall_time() -> None:
    frame = codec().encode_ping()
    message = parsed(frame.data)
    assert message.WhichOneof("payload") == "ping"
    assert message.ping.timestamp == 1_700_000_123


# ------------------------------------------------------------------ decoding


def test_text_frame_is_a_warning_never_decoded_as_protobuf() -> None:
    assert decode("Rate limit exceeded. Slow down. (2/5 warnings)") == TextFrame(
        "Rate limit exceeded. Slow down. (2/5 warnings)"
    )


def test_frame_above_the_limit_is_oversized_and_at_the_limit_is_not() -> None:
    data = envelope(MID).SerializeToString()
    assert decode(data, limit=len(data) - 1) == Oversized(len(data), len(data) - 1, MID)
    assert decode(data, limit=len(data)) == Ack(MID)


def test_an_oversized_frame_names_its_message_id_from_the_head_alone() -> None:
    big = envelope(MID)
    big.work_items_list.work_items.add(title="x" * 100_000)
    data = big.SerializeToString()
    assert head_message_id(data) == MID
    assert head_message_id(data[:38]) == MID  # the head is enough: the rest is never read
    assert decode(data, limit=1000) == Oversized(len(data), 1000, MID)


@pytest.mark.parametrize(
    "head", [b"", b"\x0a", b"\x12\x03abc", b"\x0a\x05ab", b"\x0a\x80\x01" + b"a" * 200, b"\x0a\x02\xff\xfe"]
)
def test_a_head_without_a_usable_message_id_gives_none(head: bytes) -> None:
    assert head_message_id(head) is None


@pytest.mark.parametrize("garbage", [b"\xff", b"garbage\xff\xff", b"\x0a\x05ab"])
def test_undecodable_bytes_are_malformed(garbage: bytes) -> None:
    event = decode(garbage)
    assert isinstance(event, MalformedFrame)
    assert event.size == len(garbage)


def test_envelope_header_with_a_wrong_wire_type_is_malformed() -> None:
    # field 1 (message_id) sent as a varint instead of a string
    event = decode(b"\x08\x05")
    assert isinstance(event, MalformedFrame)
    assert "header" in event.reason


def test_envelope_without_payload_is_an_ack() -> None:
    assert decode(envelope(MID).SerializeToString(), {MID}) == Ack(MID)


def test_unknown_payload_number_is_unknown_not_an_ack() -> None:
    data = envelope(MID).SerializeToString() + encoder.TagBytes(70, 2) + b"\x02\x0a\x00"
    event = decode(data, {MID})
    assert event == UnknownPayload(MID, (70,))


def test_pong_carries_id_and_echoed_timestamp() -> None:
    assert decode(envelope(MID, pong=pb.Pong(timestamp=42)).SerializeToString()) == Pong(MID, 42)


def test_error_is_an_error_answer() -> None:
    error = pb.Error(code="NOT_FOUND", message="gone")
    event = decode(envelope(MID, error=error).SerializeToString(), {MID})
    assert isinstance(event, ErrorAnswer)
    assert event.message_id == MID
    assert (event.error.code, event.error.message) == ("NOT_FOUND", "gone")


def test_list_payload_is_an_answer() -> None:
    item = converters.work_item_to_proto(make_work_item())
    data = envelope(MID, work_items_list=pb.WorkItemsList(work_items=[item])).SerializeToString()
    event = decode(data)
    assert isinstance(event, Answer)
    assert event.name == "work_items_list"
    assert list(event.message.work_items) == [item]


def test_entity_event_with_an_awaited_id_is_the_answer() -> None:
    item = make_work_item()
    data = envelope(MID, work_item_created=work_item_created(item)).SerializeToString()
    event = decode(data, {MID})
    assert isinstance(event, Answer)
    assert event.name == "work_item_created"
    assert converters.work_item_from_proto(event.message.work_item) == item


def test_entity_event_with_a_fresh_id_is_a_broadcast_with_its_model() -> None:
    item = make_work_item()
    data = envelope(str(uuid.uuid4()), work_item_created=work_item_created(item)).SerializeToString()
    event = decode(data, {MID})
    assert isinstance(event, Broadcast)
    assert event.kind == "work_item_created"
    assert event.model == WorkItemCreated(work_item=item, user_id=item.created_by)


def test_own_mutation_seen_twice_broadcast_first_then_answer() -> None:
    item = make_work_item()
    payload = work_item_created(item)
    awaited = {MID}
    first = decode(envelope(str(uuid.uuid4()), work_item_created=payload).SerializeToString(), awaited)
    second = decode(envelope(MID, work_item_created=payload).SerializeToString(), awaited)
    assert isinstance(first, Broadcast)
    assert isinstance(second, Answer)


def test_activity_log_is_always_a_broadcast() -> None:
    entry = activity_entry()
    data = envelope(
        MID, activity_log_created=pb.ActivityLogCreated(entry=converters.activity_log_entry_to_proto(entry))
    ).SerializeToString()
    event = decode(data, {MID})
    assert event == Broadcast(MID, "activity_log_created", entry)


def test_broadcast_with_an_invalid_entity_is_malformed_not_an_exception() -> None:
    payload = pb.WorkItemDeleted(work_item_id="not-a-uuid", user_id=str(uuid.uuid4()))
    event = decode(envelope(str(uuid.uuid4()), work_item_deleted=payload).SerializeToString())
    assert isinstance(event, MalformedFrame)
    assert "work_item_deleted" in event.reason


def test_a_request_payload_from_the_server_is_unknown() -> None:
    event = decode(envelope(MID, ping=pb.Ping(timestamp=1)).SerializeToString())
    assert event == UnknownPayload(MID, name="ping")


def test_decode_never_raises_on_arbitrary_bytes() -> None:
    import random

    rng = random.Random(1234)
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        event = decode(data)  # must not raise
        assert isinstance(
            event, Ack | Answer | Broadcast | ErrorAnswer | MalformedFrame | Pong | UnknownPayload
        )
