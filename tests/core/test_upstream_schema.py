"""The compiled schema matches pm-server v0.1.4's own ``proto/messages.proto``, field for field.

The facts below are a copy of upstream's schema (TonyMarkham/blazor-agile-board at commit
168415499bfa11815357cc4cac004c3657897777, ``proto/messages.proto``), written here as data so that a
drift of our ``messages.proto`` from the real server fails in CI, not in production. For every
message and enum this client models: each field's number, name, type and label (proto3
``optional`` included), each enum value; and for the envelope, every payload's number, name and
type, the ones we do not model being reserved.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from projectmanagement_core.proto import messages_pb2 as pb


class F(NamedTuple):
    """One upstream field: label "" (plain), "opt" (proto3 optional) or "rep" (repeated)."""

    number: int
    name: str
    type: str = "string"
    label: str = ""


UPSTREAM_MESSAGES: dict[str, list[F]] = {
    "Ping": [F(1, "timestamp", "int64")],
    "Pong": [F(1, "timestamp", "int64")],
    "Subscribe": [F(1, "project_ids", "string", "rep"), F(2, "sprint_ids", "string", "rep")],
    "Unsubscribe": [F(1, "project_ids", "string", "rep"), F(2, "sprint_ids", "string", "rep")],
    "WorkItem": [
        F(1, "id"),
        F(2, "item_type", "WorkItemType"),
        F(3, "parent_id", "string", "opt"),
        F(4, "project_id"),
        F(5, "position", "int32"),
        F(6, "title"),
        F(7, "description", "string", "opt"),
        F(8, "status"),
        F(9, "assignee_id", "string", "opt"),
        F(10, "sprint_id", "string", "opt"),
        F(11, "created_at", "int64"),
        F(12, "updated_at", "int64"),
        F(13, "created_by"),
        F(14, "updated_by"),
        F(15, "deleted_at", "int64", "opt"),
        F(16, "priority"),
        F(17, "story_points", "int32", "opt"),
        F(18, "version", "int32"),
        F(19, "item_number", "int32"),
        F(20, "ancestor_ids", "string", "rep"),
        F(21, "descendant_ids", "string", "rep"),
    ],
    "CreateWorkItemRequest": [
        F(1, "item_type", "WorkItemType"),
        F(2, "title"),
        F(3, "description", "string", "opt"),
        F(4, "parent_id", "string", "opt"),
        F(5, "project_id"),
        F(6, "status", "string", "opt"),
        F(7, "priority", "string", "opt"),
    ],
    "UpdateWorkItemRequest": [
        F(1, "work_item_id"),
        F(2, "expected_version", "int32"),
        F(3, "title", "string", "opt"),
        F(4, "description", "string", "opt"),
        F(5, "status", "string", "opt"),
        F(6, "assignee_id", "string", "opt"),
        F(7, "sprint_id", "string", "opt"),
        F(8, "position", "int32", "opt"),
        F(9, "priority", "string", "opt"),
        F(10, "story_points", "int32", "opt"),
        F(11, "parent_id", "string", "opt"),
        F(12, "update_parent", "bool"),
    ],
    "DeleteWorkItemRequest": [F(1, "work_item_id")],
    "GetWorkItemsRequest": [F(1, "project_id"), F(2, "since_timestamp", "int64", "opt")],
    "FieldChange": [
        F(1, "field_name"),
        F(2, "old_value", "string", "opt"),
        F(3, "new_value", "string", "opt"),
    ],
    "WorkItemCreated": [F(1, "work_item", "WorkItem"), F(2, "user_id")],
    "WorkItemUpdated": [
        F(1, "work_item", "WorkItem"),
        F(2, "changes", "FieldChange", "rep"),
        F(3, "user_id"),
    ],
    "WorkItemDeleted": [F(1, "work_item_id"), F(2, "user_id")],
    "WorkItemsList": [F(1, "work_items", "WorkItem", "rep"), F(2, "as_of_timestamp", "int64")],
    "Sprint": [
        F(1, "id"),
        F(2, "project_id"),
        F(3, "name"),
        F(4, "goal", "string", "opt"),
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
        F(3, "goal", "string", "opt"),
        F(4, "start_date", "int64"),
        F(5, "end_date", "int64"),
    ],
    "UpdateSprintRequest": [
        F(1, "sprint_id"),
        F(2, "expected_version", "int32"),
        F(3, "name", "string", "opt"),
        F(4, "goal", "string", "opt"),
        F(5, "start_date", "int64", "opt"),
        F(6, "end_date", "int64", "opt"),
        F(7, "status", "SprintStatus", "opt"),
    ],
    "DeleteSprintRequest": [F(1, "sprint_id")],
    "GetSprintsRequest": [F(1, "project_id")],
    "SprintsList": [F(1, "sprints", "Sprint", "rep")],
    "SprintCreated": [F(1, "sprint", "Sprint"), F(2, "user_id")],
    "SprintUpdated": [F(1, "sprint", "Sprint"), F(2, "changes", "FieldChange", "rep"), F(3, "user_id")],
    "SprintDeleted": [F(1, "sprint_id"), F(2, "user_id")],
    "Project": [
        F(1, "id"),
        F(2, "title"),
        F(3, "description", "string", "opt"),
        F(4, "key"),
        F(5, "status", "ProjectStatus"),
        F(6, "version", "int32"),
        F(7, "created_at", "int64"),
        F(8, "updated_at", "int64"),
        F(9, "created_by"),
        F(10, "updated_by"),
        F(11, "deleted_at", "int64", "opt"),
        F(12, "next_work_item_number", "int32"),
    ],
    "CreateProjectRequest": [F(1, "title"), F(2, "description", "string", "opt"), F(3, "key")],
    "UpdateProjectRequest": [
        F(1, "project_id"),
        F(2, "expected_version", "int32"),
        F(3, "title", "string", "opt"),
        F(4, "description", "string", "opt"),
        F(5, "status", "ProjectStatus", "opt"),
    ],
    "DeleteProjectRequest": [F(1, "project_id"), F(2, "expected_version", "int32")],
    "ListProjectsRequest": [],
    "ProjectList": [F(1, "projects", "Project", "rep")],
    "ProjectCreated": [F(1, "project", "Project"), F(2, "user_id")],
    "ProjectUpdated": [F(1, "project", "Project"), F(2, "changes", "FieldChange", "rep"), F(3, "user_id")],
    "ProjectDeleted": [F(1, "project_id"), F(2, "user_id")],
    "Error": [F(1, "code"), F(2, "message"), F(3, "field", "string", "opt")],
    "ActivityLogEntry": [
        F(1, "id"),
        F(2, "entity_type"),
        F(3, "entity_id"),
        F(4, "action"),
        F(5, "field_name", "string", "opt"),
        F(6, "old_value", "string", "opt"),
        F(7, "new_value", "string", "opt"),
        F(8, "user_id"),
        F(9, "timestamp", "int64"),
        F(10, "comment", "string", "opt"),
    ],
    "ActivityLogCreated": [F(1, "entry", "ActivityLogEntry")],
}

UPSTREAM_ENUMS: dict[str, dict[str, int]] = {
    "WorkItemType": {"WORK_ITEM_TYPE_UNSPECIFIED": 0, "EPIC": 2, "STORY": 3, "TASK": 4},
    "SprintStatus": {
        "SPRINT_STATUS_UNSPECIFIED": 0,
        "PLANNED": 1,
        "ACTIVE": 2,
        "COMPLETED": 3,
        "CANCELLED": 4,
    },
    "ProjectStatus": {
        "PROJECT_STATUS_UNSPECIFIED": 0,
        "PROJECT_STATUS_ACTIVE": 1,
        "PROJECT_STATUS_ARCHIVED": 2,
    },
}

UPSTREAM_ENVELOPE_HEADER = [F(1, "message_id"), F(2, "timestamp", "int64")]

#: Every payload of upstream's WebSocketMessage.payload oneof: number -> (field name, message type).
UPSTREAM_PAYLOADS: dict[int, tuple[str, str]] = {
    10: ("ping", "Ping"),
    11: ("pong", "Pong"),
    20: ("subscribe", "Subscribe"),
    21: ("unsubscribe", "Unsubscribe"),
    30: ("create_work_item_request", "CreateWorkItemRequest"),
    31: ("update_work_item_request", "UpdateWorkItemRequest"),
    32: ("delete_work_item_request", "DeleteWorkItemRequest"),
    33: ("get_work_items_request", "GetWorkItemsRequest"),
    40: ("work_item_created", "WorkItemCreated"),
    41: ("work_item_updated", "WorkItemUpdated"),
    42: ("work_item_deleted", "WorkItemDeleted"),
    43: ("work_items_list", "WorkItemsList"),
    50: ("create_sprint_request", "CreateSprintRequest"),
    51: ("update_sprint_request", "UpdateSprintRequest"),
    52: ("delete_sprint_request", "DeleteSprintRequest"),
    53: ("get_sprints_request", "GetSprintsRequest"),
    60: ("sprint_created", "SprintCreated"),
    61: ("sprint_updated", "SprintUpdated"),
    62: ("sprint_deleted", "SprintDeleted"),
    63: ("sprints_list", "SprintsList"),
    70: ("create_comment_request", "CreateCommentRequest"),
    71: ("update_comment_request", "UpdateCommentRequest"),
    72: ("delete_comment_request", "DeleteCommentRequest"),
    73: ("get_comments_request", "GetCommentsRequest"),
    80: ("comment_created", "CommentCreated"),
    81: ("comment_updated", "CommentUpdated"),
    82: ("comment_deleted", "CommentDeleted"),
    83: ("comments_list", "CommentsList"),
    90: ("create_project_request", "CreateProjectRequest"),
    91: ("update_project_request", "UpdateProjectRequest"),
    92: ("delete_project_request", "DeleteProjectRequest"),
    93: ("list_projects_request", "ListProjectsRequest"),
    94: ("project_created", "ProjectCreated"),
    95: ("project_updated", "ProjectUpdated"),
    96: ("project_deleted", "ProjectDeleted"),
    97: ("project_list", "ProjectList"),
    100: ("error", "Error"),
    110: ("start_timer_request", "StartTimerRequest"),
    111: ("stop_timer_request", "StopTimerRequest"),
    112: ("create_time_entry_request", "CreateTimeEntryRequest"),
    113: ("update_time_entry_request", "UpdateTimeEntryRequest"),
    114: ("delete_time_entry_request", "DeleteTimeEntryRequest"),
    115: ("get_time_entries_request", "GetTimeEntriesRequest"),
    116: ("get_running_timer_request", "GetRunningTimerRequest"),
    120: ("timer_started", "TimerStarted"),
    121: ("timer_stopped", "TimerStopped"),
    122: ("time_entry_created", "TimeEntryCreated"),
    123: ("time_entry_updated", "TimeEntryUpdated"),
    124: ("time_entry_deleted", "TimeEntryDeleted"),
    125: ("time_entries_list", "TimeEntriesList"),
    126: ("running_timer_response", "RunningTimerResponse"),
    130: ("create_dependency_request", "CreateDependencyRequest"),
    131: ("delete_dependency_request", "DeleteDependencyRequest"),
    132: ("get_dependencies_request", "GetDependenciesRequest"),
    135: ("dependency_created", "DependencyCreated"),
    136: ("dependency_deleted", "DependencyDeleted"),
    137: ("dependencies_list", "DependenciesList"),
    140: ("get_activity_log_request", "GetActivityLogRequest"),
    141: ("activity_log_list", "ActivityLogList"),
    142: ("activity_log_created", "ActivityLogCreated"),
    143: ("get_llm_context_request", "GetLlmContextRequest"),
    144: ("llm_context_list", "LlmContextList"),
}

_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_BOOL: "bool",
}


def _fact(message: Descriptor, field: FieldDescriptor) -> F:
    """What upstream's table says about one of our compiled fields."""
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        type_name = str(field.message_type.name)
    elif field.type == FieldDescriptor.TYPE_ENUM:
        type_name = str(field.enum_type.name)
    else:
        type_name = _SCALARS[field.type]
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    declared = next(f for f in proto.field if f.name == field.name)
    if declared.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
        label = "rep"
    elif declared.proto3_optional:
        label = "opt"
    else:
        label = ""
    return F(field.number, field.name, type_name, label)


def _ours(name: str) -> list[F]:
    message = pb.DESCRIPTOR.message_types_by_name[name]
    return sorted((_fact(message, field) for field in message.fields), key=lambda f: f.number)


_MODELLED = sorted(set(pb.DESCRIPTOR.message_types_by_name) - {"WebSocketMessage"})
_OUR_PAYLOADS = {
    f.number: (f.name, f.message_type.name)
    for f in pb.WebSocketMessage.DESCRIPTOR.oneofs_by_name["payload"].fields
}


def test_every_message_we_model_is_an_upstream_message_and_every_copied_one_is_modelled() -> None:
    assert set(_MODELLED) == set(UPSTREAM_MESSAGES)


@pytest.mark.parametrize("name", _MODELLED)
def test_message_fields_match_upstream_number_name_type_and_label(name: str) -> None:
    assert _ours(name) == UPSTREAM_MESSAGES[name]


@pytest.mark.parametrize("name", sorted(UPSTREAM_ENUMS))
def test_enum_values_match_upstream(name: str) -> None:
    enum = pb.DESCRIPTOR.enum_types_by_name[name]
    assert {v.name: v.number for v in enum.values} == UPSTREAM_ENUMS[name]


def test_every_enum_we_model_is_copied_from_upstream() -> None:
    assert set(pb.DESCRIPTOR.enum_types_by_name) == set(UPSTREAM_ENUMS)


def test_envelope_header_matches_upstream() -> None:
    header = [f for f in _ours("WebSocketMessage") if f.number < min(UPSTREAM_PAYLOADS)]
    assert header == UPSTREAM_ENVELOPE_HEADER


def test_every_payload_we_model_has_upstreams_number_name_and_type() -> None:
    assert {n: UPSTREAM_PAYLOADS.get(n) for n in _OUR_PAYLOADS} == _OUR_PAYLOADS


def test_every_upstream_payload_we_do_not_model_is_reserved() -> None:
    proto = descriptor_pb2.DescriptorProto()
    pb.WebSocketMessage.DESCRIPTOR.CopyToProto(proto)
    reserved = {n for r in proto.reserved_range for n in range(r.start, r.end)}
    assert set(UPSTREAM_PAYLOADS) - set(_OUR_PAYLOADS) <= reserved
    assert not reserved & set(_OUR_PAYLOADS)


def test_project_payloads_90_to_97_are_upstreams() -> None:
    """The payloads issue 12 was about, spelled out: a regression here breaks every project call."""
    assert {n: _OUR_PAYLOADS[n] for n in range(90, 98)} == {
        90: ("create_project_request", "CreateProjectRequest"),
        91: ("update_project_request", "UpdateProjectRequest"),
        92: ("delete_project_request", "DeleteProjectRequest"),
        93: ("list_projects_request", "ListProjectsRequest"),
        94: ("project_created", "ProjectCreated"),
        95: ("project_updated", "ProjectUpdated"),
        96: ("project_deleted", "ProjectDeleted"),
        97: ("project_list", "ProjectList"),
    }
