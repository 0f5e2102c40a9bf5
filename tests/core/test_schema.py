"""The generated schema matches protocol.md's tables: every message, number, type and label.

The tables below are transcribed by hand from ../shared/protocol.md (section "Messages" and the
envelope), so that a drift between the .proto and the contract fails here, not against pm-server.
Types not spelled out in protocol.md follow its rules: ids are strings, times are int64.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from google.protobuf import descriptor_pb2, unknown_fields
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from projectmanagement_core.proto import messages_pb2 as pb


class F(NamedTuple):
    """One field row of protocol.md: label is "" (plain), "opt" (proto3 optional) or "rep"."""

    number: int
    name: str
    type: str = "string"
    label: str = ""


_WORK_ITEM_EVENTS = {
    "WorkItemCreated": [F(1, "work_item", "WorkItem"), F(2, "user_id")],
    "WorkItemUpdated": [
        F(1, "work_item", "WorkItem"),
        F(2, "changes", "FieldChange", "rep"),
        F(3, "user_id"),
    ],
    "WorkItemDeleted": [F(1, "work_item_id"), F(2, "user_id")],
}

_SPRINT_EVENTS = {
    "SprintCreated": [F(1, "sprint", "Sprint"), F(2, "user_id")],
    "SprintUpdated": [F(1, "sprint", "Sprint"), F(2, "changes", "FieldChange", "rep"), F(3, "user_id")],
    "SprintDeleted": [F(1, "sprint_id"), F(2, "user_id")],
}

MESSAGES: dict[str, list[F]] = {
    "Ping": [F(1, "timestamp", "int64")],
    "Pong": [F(1, "timestamp", "int64")],
    "Subscribe": [F(1, "project_ids", label="rep"), F(2, "sprint_ids", label="rep")],
    "Unsubscribe": [F(1, "project_ids", label="rep"), F(2, "sprint_ids", label="rep")],
    "WorkItem": [
        F(1, "id"),
        F(2, "item_type", "WorkItemType"),
        F(3, "parent_id", label="opt"),
        F(4, "project_id"),
        F(5, "position", "int32"),
        F(6, "title"),
        F(7, "description", label="opt"),
        F(8, "status"),
        F(9, "assignee_id", label="opt"),
        F(10, "sprint_id", label="opt"),
        F(11, "created_at", "int64"),
        F(12, "updated_at", "int64"),
        F(13, "created_by"),
        F(14, "updated_by"),
        F(15, "deleted_at", "int64", "opt"),
        F(16, "priority"),
        F(17, "story_points", "int32", "opt"),
        F(18, "version", "int32"),
        F(19, "item_number", "int32"),
        F(20, "ancestor_ids", label="rep"),
        F(21, "descendant_ids", label="rep"),
    ],
    "CreateWorkItemRequest": [
        F(1, "item_type", "WorkItemType"),
        F(2, "title"),
        F(3, "description", label="opt"),
        F(4, "parent_id", label="opt"),
        F(5, "project_id"),
        F(6, "status", label="opt"),
        F(7, "priority", label="opt"),
    ],
    "UpdateWorkItemRequest": [
        F(1, "work_item_id"),
        F(2, "expected_version", "int32"),
        F(3, "title", label="opt"),
        F(4, "description", label="opt"),
        F(5, "status", label="opt"),
        F(6, "assignee_id", label="opt"),
        F(7, "sprint_id", label="opt"),
        F(8, "position", "int32", "opt"),
        F(9, "priority", label="opt"),
        F(10, "story_points", "int32", "opt"),
        F(11, "parent_id", label="opt"),
        F(12, "update_parent", "bool"),
    ],
    "DeleteWorkItemRequest": [F(1, "work_item_id")],
    "GetWorkItemsRequest": [F(1, "project_id"), F(2, "since_timestamp", "int64", "opt")],
    **_WORK_ITEM_EVENTS,
    "WorkItemsList": [F(1, "work_items", "WorkItem", "rep"), F(2, "as_of_timestamp", "int64")],
    "FieldChange": [F(1, "field_name"), F(2, "old_value", label="opt"), F(3, "new_value", label="opt")],
    "Sprint": [
        F(1, "id"),
        F(2, "project_id"),
        F(3, "name"),
        F(4, "goal", label="opt"),
        F(5, "start_date", "int64"),
        F(6, "end_date", "int64"),
        F(7, "status", "SprintStatus"),
        F(8, "created_at", "int64"),
        F(9, "updated_at", "int64"),
        F(10, "created_by"),
        F(11, "updated_by"),
        F(12, "deleted_at", "int64", "opt"),
        F(13, "version", "int32"),
    ],
    "CreateSprintRequest": [
        F(1, "project_id"),
        F(2, "name"),
        F(3, "goal", label="opt"),
        F(4, "start_date", "int64"),
        F(5, "end_date", "int64"),
    ],
    "UpdateSprintRequest": [
        F(1, "sprint_id"),
        F(2, "expected_version", "int32"),
        F(3, "name", label="opt"),
        F(4, "goal", label="opt"),
        F(5, "start_date", "int64", "opt"),
        F(6, "end_date", "int64", "opt"),
        F(7, "status", "SprintStatus", "opt"),
    ],
    "DeleteSprintRequest": [F(1, "sprint_id")],
    "GetSprintsRequest": [F(1, "project_id")],
    "SprintsList": [F(1, "sprints", "Sprint", "rep")],
    **_SPRINT_EVENTS,
    "Error": [F(1, "code"), F(2, "message"), F(3, "field", label="opt")],
    "ActivityLogCreated": [F(1, "entry", "ActivityLogEntry")],
    "ActivityLogEntry": [
        F(1, "id"),
        F(2, "entity_type"),
        F(3, "entity_id"),
        F(4, "action"),
        F(5, "field_name", label="opt"),
        F(6, "old_value", label="opt"),
        F(7, "new_value", label="opt"),
        F(8, "user_id"),
        F(9, "timestamp", "int64"),
        F(10, "comment", label="opt"),
    ],
}

ENVELOPE_FIELDS = [F(1, "message_id"), F(2, "timestamp", "int64")]

#: The ``payload`` oneof of protocol.md: (number, field name, message type).
PAYLOADS = [
    (10, "ping", "Ping"),
    (11, "pong", "Pong"),
    (20, "subscribe", "Subscribe"),
    (21, "unsubscribe", "Unsubscribe"),
    (30, "create_work_item_request", "CreateWorkItemRequest"),
    (31, "update_work_item_request", "UpdateWorkItemRequest"),
    (32, "delete_work_item_request", "DeleteWorkItemRequest"),
    (33, "get_work_items_request", "GetWorkItemsRequest"),
    (40, "work_item_created", "WorkItemCreated"),
    (41, "work_item_updated", "WorkItemUpdated"),
    (42, "work_item_deleted", "WorkItemDeleted"),
    (43, "work_items_list", "WorkItemsList"),
    (50, "create_sprint_request", "CreateSprintRequest"),
    (51, "update_sprint_request", "UpdateSprintRequest"),
    (52, "delete_sprint_request", "DeleteSprintRequest"),
    (53, "get_sprints_request", "GetSprintsRequest"),
    (60, "sprint_created", "SprintCreated"),
    (61, "sprint_updated", "SprintUpdated"),
    (62, "sprint_deleted", "SprintDeleted"),
    (63, "sprints_list", "SprintsList"),
    (100, "error", "Error"),
    (142, "activity_log_created", "ActivityLogCreated"),
]

#: Payload numbers other pm-server features use; the schema reserves them (protocol.md).
RESERVED_PAYLOADS = frozenset(
    [*range(70, 74), *range(80, 84), *range(110, 127), *range(130, 138), 140, 141, 143, 144]
)
#: Project payloads: protocol.md names the range but not the fields; the schema defines them.
PROJECT_PAYLOADS = frozenset(range(90, 98))

_SCALAR_NAMES = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _message(name: str) -> Descriptor:
    return pb.DESCRIPTOR.message_types_by_name[name]


def _type_name(field: FieldDescriptor) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return str(field.message_type.name)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return str(field.enum_type.name)
    return _SCALAR_NAMES.get(field.type, f"type#{field.type}")


def _field_proto(message: Descriptor, name: str) -> descriptor_pb2.FieldDescriptorProto:
    """The field as declared in the .proto (carries ``proto3_optional``, which the runtime hides)."""
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    return next(f for f in proto.field if f.name == name)


def _label(message: Descriptor, field: FieldDescriptor) -> str:
    if field.is_repeated:
        return "rep"
    if _field_proto(message, field.name).proto3_optional:
        return "opt"
    return ""


def _reserved_numbers(message: Descriptor) -> set[int]:
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    return {n for r in proto.reserved_range for n in range(r.start, r.end)}


_FIELD_ROWS = [(m, f) for m, fields in MESSAGES.items() for f in fields]


@pytest.mark.parametrize("message_name", sorted(MESSAGES))
def test_message_has_exactly_the_protocol_fields(message_name: str) -> None:
    assert message_name in pb.DESCRIPTOR.message_types_by_name
    declared = {(f.name, f.number) for f in _message(message_name).fields}
    assert declared == {(f.name, f.number) for f in MESSAGES[message_name]}


@pytest.mark.parametrize(("message_name", "row"), _FIELD_ROWS, ids=[f"{m}.{f.name}" for m, f in _FIELD_ROWS])
def test_field_number_type_and_label_match_protocol(message_name: str, row: F) -> None:
    message = _message(message_name)
    field = message.fields_by_name[row.name]
    assert field.number == row.number
    assert _type_name(field) == row.type
    assert _label(message, field) == row.label


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


def test_envelope_header_fields_match_protocol() -> None:
    envelope = _message("WebSocketMessage")
    for row in ENVELOPE_FIELDS:
        field = envelope.fields_by_name[row.name]
        assert (field.number, _type_name(field), _label(envelope, field)) == (row.number, row.type, "")
        assert field.containing_oneof is None


@pytest.mark.parametrize(("number", "name", "type_name"), PAYLOADS, ids=[p[1] for p in PAYLOADS])
def test_envelope_payload_is_in_the_payload_oneof(number: int, name: str, type_name: str) -> None:
    field = _message("WebSocketMessage").fields_by_name[name]
    assert field.number == number
    assert _type_name(field) == type_name
    assert field.containing_oneof is not None
    assert field.containing_oneof.name == "payload"


def test_envelope_uses_only_protocol_numbers_and_the_project_range() -> None:
    envelope = _message("WebSocketMessage")
    payload = envelope.oneofs_by_name["payload"]
    numbers = {f.number for f in payload.fields}
    protocol_numbers = {n for n, _, _ in PAYLOADS}
    assert protocol_numbers <= numbers
    assert numbers - protocol_numbers <= PROJECT_PAYLOADS
    assert {f.number for f in envelope.fields} == numbers | {1, 2}


def test_envelope_reserves_exactly_the_other_feature_payload_numbers() -> None:
    assert _reserved_numbers(_message("WebSocketMessage")) == RESERVED_PAYLOADS


def test_no_field_uses_a_reserved_payload_number() -> None:
    used = {f.number for f in _message("WebSocketMessage").fields}
    assert not used & RESERVED_PAYLOADS


def test_work_item_type_values_match_protocol() -> None:
    values = {v.name: v.number for v in pb.DESCRIPTOR.enum_types_by_name["WorkItemType"].values}
    assert values == {"WORK_ITEM_TYPE_UNSPECIFIED": 0, "EPIC": 2, "STORY": 3, "TASK": 4}


def test_sprint_status_values_match_protocol() -> None:
    values = {v.name: v.number for v in pb.DESCRIPTOR.enum_types_by_name["SprintStatus"].values}
    assert values == {
        "SPRINT_STATUS_UNSPECIFIED": 0,
        "PLANNED": 1,
        "ACTIVE": 2,
        "COMPLETED": 3,
        "CANCELLED": 4,
    }


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
