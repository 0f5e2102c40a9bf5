"""How the generated schema behaves, beyond the field table ``test_upstream_schema.py`` checks.

Field numbers, names, types and labels are pinned against pm-server's own schema there; here, over the
same rows: proto3 ``optional`` fields track presence and plain scalars do not, the envelope reserves
exactly the payload numbers of features this client does not model, and an envelope with a payload it
does not know still parses and round-trips.
"""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, unknown_fields
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from projectmanagement_core.proto import messages_pb2 as pb
from tests.core.test_upstream_schema import UPSTREAM_MESSAGES, F

_FIELD_ROWS = [(m, f) for m, fields in UPSTREAM_MESSAGES.items() for f in fields]

#: Payload numbers other pm-server features use; the schema reserves them (protocol.md).
RESERVED_PAYLOADS = frozenset(
    [*range(70, 74), *range(80, 84), *range(110, 127), *range(130, 138), 140, 141, 143, 144]
)

_SCALAR_NAMES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _message(name: str) -> Descriptor:
    return pb.DESCRIPTOR.message_types_by_name[name]


def _reserved_numbers(message: Descriptor) -> set[int]:
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    return {n for r in proto.reserved_range for n in range(r.start, r.end)}


@pytest.mark.parametrize(
    ("message_name", "row"),
    [(m, f) for m, f in _FIELD_ROWS if f.label == "opt"],
    ids=[f"{m}.{f.name}" for m, f in _FIELD_ROWS if f.label == "opt"],
)
def test_optional_fields_track_presence_through_a_synthetic_oneof(message_name: str, row: F) -> None:
    field = _message(message_name).fields_by_name[row.name]
    assert field.has_presence
    assert field.containing_oneof is not None
    assert field.containing_oneof.name == f"_{row.name}"
    assert [f.name for f in field.containing_oneof.fields] == [row.name]


@pytest.mark.parametrize(
    ("message_name", "row"),
    [(m, f) for m, f in _FIELD_ROWS if f.label == "" and f.type in _SCALAR_NAMES.values()],
    ids=[f"{m}.{f.name}" for m, f in _FIELD_ROWS if f.label == "" and f.type in _SCALAR_NAMES.values()],
)
def test_plain_scalar_fields_have_no_presence(message_name: str, row: F) -> None:
    field = _message(message_name).fields_by_name[row.name]
    assert not field.has_presence
    assert field.containing_oneof is None


def test_envelope_reserves_exactly_the_other_feature_payload_numbers() -> None:
    assert _reserved_numbers(_message("WebSocketMessage")) == RESERVED_PAYLOADS


def test_no_field_uses_a_reserved_payload_number() -> None:
    used = {f.number for f in _message("WebSocketMessage").fields}
    assert not used & RESERVED_PAYLOADS


def test_schema_package_is_pm() -> None:
    assert pb.DESCRIPTOR.package == "pm"
    assert _message("WebSocketMessage").full_name == "pm.WebSocketMessage"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _unknown_payload(number: int) -> bytes:
    """A length-delimited field ``number`` holding a small nested message (as a real payload would)."""
    body = _varint((1 << 3) | 2) + _varint(3) + b"abc"
    return _varint((number << 3) | 2) + _varint(len(body)) + body


@pytest.mark.parametrize("number", [70, 98, 110, 126, 141, 144, 199, 5000])
def test_envelope_with_unknown_payload_parses_and_keeps_it(number: int) -> None:
    header = pb.WebSocketMessage(message_id="0b6f1d3e-8f0e-4d2a-9c55-0a1b2c3d4e5f", timestamp=1_700_000_000)
    frame = header.SerializeToString() + _unknown_payload(number)

    parsed = pb.WebSocketMessage.FromString(frame)

    assert parsed.WhichOneof("payload") is None
    assert parsed.message_id == header.message_id
    assert parsed.timestamp == header.timestamp
    assert [f.field_number for f in unknown_fields.UnknownFieldSet(parsed)] == [number]
    assert parsed.SerializeToString() == frame
