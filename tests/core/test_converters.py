"""converters.py is lossless both ways, respects proto3 presence, and rejects malformed wire data.

Every model <-> proto pair is listed once in ``PAIRS``; the properties run over all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from projectmanagement_core import converters as c
from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import (
    SprintStatus,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_core.proto import messages_pb2 as pb
from tests.core import strategies as s


class Pair(NamedTuple):
    wire_name: str
    models: st.SearchStrategy[Any]
    to_proto: Callable[[Any], Message]
    from_proto: Callable[[Any], Any]

    @property
    def valid_wire(self) -> st.SearchStrategy[Message]:
        return _wire(self.wire_name, valid=True)

    @property
    def hostile_wire(self) -> st.SearchStrategy[Message]:
        return _wire(self.wire_name, valid=False)


@functools.cache
def _wire(wire_name: str, *, valid: bool) -> st.SearchStrategy[Message]:
    """Built once per message: building a strategy per example would dominate the run time."""
    return s.wire(wire_name, s.valid_values if valid else s.hostile_values)


PAIRS = [
    Pair("FieldChange", s.field_changes, c.field_change_to_proto, c.field_change_from_proto),
    Pair(
        "ActivityLogEntry",
        s.activity_log_entries,
        c.activity_log_entry_to_proto,
        c.activity_log_entry_from_proto,
    ),
    Pair("WorkItem", s.work_items, c.work_item_to_proto, c.work_item_from_proto),
    Pair("Sprint", s.sprints, c.sprint_to_proto, c.sprint_from_proto),
    Pair("Project", s.projects, c.project_to_proto, c.project_from_proto),
    Pair(
        "CreateWorkItemRequest",
        s.create_work_item_requests,
        c.create_work_item_request_to_proto,
        c.create_work_item_request_from_proto,
    ),
    Pair(
        "UpdateWorkItemRequest",
        s.update_work_item_requests,
        c.update_work_item_request_to_proto,
        c.update_work_item_request_from_proto,
    ),
    Pair(
        "CreateSprintRequest",
        s.create_sprint_requests,
        c.create_sprint_request_to_proto,
        c.create_sprint_request_from_proto,
    ),
    Pair(
        "UpdateSprintRequest",
        s.update_sprint_requests,
        c.update_sprint_request_to_proto,
        c.update_sprint_request_from_proto,
    ),
    Pair(
        "CreateProjectRequest",
        s.create_project_requests,
        c.create_project_request_to_proto,
        c.create_project_request_from_proto,
    ),
    Pair(
        "UpdateProjectRequest",
        s.update_project_requests,
        c.update_project_request_to_proto,
        c.update_project_request_from_proto,
    ),
    Pair(
        "WorkItemCreated",
        s.work_item_created_events,
        c.work_item_created_to_proto,
        c.work_item_created_from_proto,
    ),
    Pair(
        "WorkItemUpdated",
        s.work_item_updated_events,
        c.work_item_updated_to_proto,
        c.work_item_updated_from_proto,
    ),
    Pair(
        "WorkItemDeleted",
        s.work_item_deleted_events,
        c.work_item_deleted_to_proto,
        c.work_item_deleted_from_proto,
    ),
    Pair("SprintCreated", s.sprint_created_events, c.sprint_created_to_proto, c.sprint_created_from_proto),
    Pair("SprintUpdated", s.sprint_updated_events, c.sprint_updated_to_proto, c.sprint_updated_from_proto),
    Pair("SprintDeleted", s.sprint_deleted_events, c.sprint_deleted_to_proto, c.sprint_deleted_from_proto),
    Pair(
        "ProjectCreated", s.project_created_events, c.project_created_to_proto, c.project_created_from_proto
    ),
    Pair(
        "ProjectUpdated", s.project_updated_events, c.project_updated_to_proto, c.project_updated_from_proto
    ),
    Pair(
        "ProjectDeleted", s.project_deleted_events, c.project_deleted_to_proto, c.project_deleted_from_proto
    ),
]
_IDS = [p.wire_name for p in PAIRS]
BY_NAME = {p.wire_name: p for p in PAIRS}


def _outcome(function: Callable[..., Any], *args: Any) -> tuple[Any, ValidationException | None]:
    """(result, None) or (None, the ValidationException); any other exception propagates."""
    try:
        return function(*args), None
    except ValidationException as exc:
        return None, exc


def _over_the_wire(message: Message) -> Message:
    """Serialize and parse again, as a frame would travel."""
    return type(message).FromString(message.SerializeToString())


def _optional_names(message: Message) -> list[str]:
    proto = descriptor_pb2.DescriptorProto()
    message.DESCRIPTOR.CopyToProto(proto)
    return [f.name for f in proto.field if f.proto3_optional]


def _assert_presence_mirrors(model: BaseModel, message: Message) -> None:
    """Every proto3 ``optional`` field is present exactly when the model's attribute is not None."""
    for name in _optional_names(message):
        assert message.HasField(name) == (getattr(model, name) is not None), name
    for field in message.DESCRIPTOR.fields:
        if field.type == FieldDescriptor.TYPE_MESSAGE and not field.is_repeated:
            _assert_presence_mirrors(getattr(model, field.name), getattr(message, field.name))


def test_every_converter_function_is_covered() -> None:
    """A new converter added to converters.py must be added to PAIRS (or this list) too."""
    covered = {f.__name__ for p in PAIRS for f in (p.to_proto, p.from_proto)}
    scalar_helpers = {
        "count_from_wire",
        "datetime_from_wire",
        "datetime_to_wire",
        "uuid_from_wire",
        "sprint_status_from_wire",
        "sprint_status_to_wire",
        "work_item_type_from_wire",
        "work_item_type_to_wire",
    }
    assert covered | scalar_helpers == set(c.__all__)


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("pair", PAIRS, ids=_IDS)
@s.PROPERTY
@given(data=st.data())
def test_model_to_proto_to_model_is_identity_and_presence_mirrors_none(
    pair: Pair, data: st.DataObject
) -> None:
    model = data.draw(pair.models)
    message = _over_the_wire(pair.to_proto(model))
    _assert_presence_mirrors(model, message)
    assert pair.from_proto(message) == model


@pytest.mark.parametrize("pair", PAIRS, ids=_IDS)
@s.PROPERTY
@given(data=st.data())
def test_valid_proto_to_model_to_proto_is_identity(pair: Pair, data: st.DataObject) -> None:
    message = data.draw(pair.valid_wire)
    model = pair.from_proto(_over_the_wire(message))
    _assert_presence_mirrors(model, message)
    assert pair.to_proto(model) == message


@pytest.mark.parametrize("pair", PAIRS, ids=_IDS)
@s.PROPERTY
@given(data=st.data())
def test_hostile_proto_gives_a_model_or_a_validation_exception(pair: Pair, data: st.DataObject) -> None:
    """Any value the wire types allow either converts or raises ValidationException; nothing else."""
    message = data.draw(pair.hostile_wire)
    _, error = _outcome(pair.from_proto, message)
    if error is not None:
        assert error.errors
        assert all(e.field for e in error.errors)


# ------------------------------------------------------------------ presence, explicitly


def _sample(wire_name: str) -> Message:
    """A fixed valid message with every optional field present."""
    ids = [UUID(int=n) for n in range(1, 40)]
    t = 1_700_000_000
    messages: dict[str, Message] = {
        "FieldChange": pb.FieldChange(field_name="title", old_value="a", new_value="b"),
        "ActivityLogEntry": pb.ActivityLogEntry(
            id=str(ids[0]),
            entity_type="work_item",
            entity_id=str(ids[1]),
            action="updated",
            field_name="title",
            old_value="a",
            new_value="b",
            user_id=str(ids[2]),
            timestamp=t,
            comment="why",
        ),
        "WorkItem": pb.WorkItem(
            id=str(ids[3]),
            item_type=pb.STORY,
            parent_id=str(ids[4]),
            project_id=str(ids[5]),
            position=2,
            title="Title",
            description="Text",
            status="todo",
            assignee_id=str(ids[6]),
            sprint_id=str(ids[7]),
            created_at=t,
            updated_at=t + 1,
            created_by=str(ids[8]),
            updated_by=str(ids[9]),
            deleted_at=t + 2,
            priority="high",
            story_points=5,
            version=3,
            item_number=7,
            ancestor_ids=[str(ids[4])],
            descendant_ids=[str(ids[10])],
        ),
        "Sprint": pb.Sprint(
            id=str(ids[11]),
            project_id=str(ids[5]),
            name="Sprint 1",
            goal="Ship",
            start_date=t,
            end_date=t + 86_400,
            status=pb.ACTIVE,
            created_at=t,
            updated_at=t,
            created_by=str(ids[8]),
            updated_by=str(ids[9]),
            deleted_at=t + 5,
            version=2,
        ),
        "Project": pb.Project(
            id=str(ids[5]),
            key="PM",
            title="Project",
            description="About",
            status=pb.PROJECT_STATUS_ACTIVE,
            created_at=t,
            updated_at=t,
            created_by=str(ids[8]),
            updated_by=str(ids[9]),
            deleted_at=t + 9,
            version=4,
            next_work_item_number=7,
        ),
        "CreateWorkItemRequest": pb.CreateWorkItemRequest(
            item_type=pb.TASK,
            title="Do it",
            description="Text",
            parent_id=str(ids[3]),
            project_id=str(ids[5]),
            status="todo",
            priority="low",
        ),
        "UpdateWorkItemRequest": pb.UpdateWorkItemRequest(
            work_item_id=str(ids[3]),
            expected_version=3,
            title="T",
            description="D",
            status="done",
            assignee_id=str(ids[6]),
            sprint_id=str(ids[7]),
            position=1,
            priority="low",
            story_points=8,
            parent_id=str(ids[4]),
            update_parent=True,
        ),
        "CreateSprintRequest": pb.CreateSprintRequest(
            project_id=str(ids[5]), name="S", goal="G", start_date=t, end_date=t + 60
        ),
        "UpdateSprintRequest": pb.UpdateSprintRequest(
            sprint_id=str(ids[11]),
            expected_version=2,
            name="S2",
            goal="G2",
            start_date=t,
            end_date=t + 60,
            status=pb.COMPLETED,
        ),
        "CreateProjectRequest": pb.CreateProjectRequest(key="PM", title="P", description="D"),
        "UpdateProjectRequest": pb.UpdateProjectRequest(
            project_id=str(ids[5]),
            expected_version=4,
            title="P2",
            description="D2",
            status=pb.PROJECT_STATUS_ARCHIVED,
        ),
    }
    if wire_name in messages:
        return messages[wire_name]
    kind = wire_name.removesuffix("Created").removesuffix("Updated").removesuffix("Deleted")
    entity = {"WorkItem": "work_item", "Sprint": "sprint", "Project": "project"}[kind]
    user_id = str(ids[20])
    if wire_name.endswith("Deleted"):
        return getattr(pb, wire_name)(**{f"{entity}_id": str(ids[21]), "user_id": user_id})
    fields: dict[str, Any] = {entity: _sample(kind), "user_id": user_id}
    if wire_name.endswith("Updated"):
        fields["changes"] = [_sample("FieldChange"), pb.FieldChange(field_name="status")]
    return getattr(pb, wire_name)(**fields)


def _zero_value_cases() -> list[tuple[str, str]]:
    """(message, optional field) for every optional field whose zero value is itself valid."""
    cases = []
    for pair in PAIRS:
        message = _sample(pair.wire_name)
        for name in _optional_names(message):
            field = message.DESCRIPTOR.fields_by_name[name]
            is_id = name.endswith("_id")
            if field.type != FieldDescriptor.TYPE_ENUM and not is_id:
                cases.append((pair.wire_name, name))
    return cases


_ZERO_CASES = _zero_value_cases()
_ALL_OPTIONAL = [(p.wire_name, n) for p in PAIRS for n in _optional_names(_sample(p.wire_name))]


def test_samples_round_trip() -> None:
    for pair in PAIRS:
        message = _sample(pair.wire_name)
        assert pair.to_proto(pair.from_proto(message)) == message, pair.wire_name


@pytest.mark.parametrize(("wire_name", "name"), _ALL_OPTIONAL, ids=[f"{m}.{n}" for m, n in _ALL_OPTIONAL])
def test_absent_optional_field_becomes_none_and_stays_absent(wire_name: str, name: str) -> None:
    pair = BY_NAME[wire_name]
    message = _sample(wire_name)
    message.ClearField(name)

    model = pair.from_proto(message)

    assert getattr(model, name) is None
    assert not pair.to_proto(model).HasField(name)


@pytest.mark.parametrize(("wire_name", "name"), _ZERO_CASES, ids=[f"{m}.{n}" for m, n in _ZERO_CASES])
def test_present_zero_value_is_kept_not_taken_for_absent(wire_name: str, name: str) -> None:
    """An optional "" or 0 that is present stays "" / 0 (a time of 0 is the epoch), never None."""
    pair = BY_NAME[wire_name]
    message = _sample(wire_name)
    field = message.DESCRIPTOR.fields_by_name[name]
    setattr(message, name, "" if field.type == FieldDescriptor.TYPE_STRING else 0)
    assert message.HasField(name)

    model = pair.from_proto(_over_the_wire(message))

    expected: object = {
        FieldDescriptor.TYPE_STRING: "",
        FieldDescriptor.TYPE_INT32: 0,
        FieldDescriptor.TYPE_INT64: datetime(1970, 1, 1, tzinfo=UTC),
    }[field.type]
    assert getattr(model, name) == expected
    back = pair.to_proto(model)
    assert back.HasField(name)
    assert getattr(back, name) == getattr(message, name)


def test_work_item_with_empty_optional_strings_round_trips() -> None:
    pair = BY_NAME["WorkItem"]
    item = pair.from_proto(_sample("WorkItem")).model_copy(update={"description": ""})
    message = pair.to_proto(item)
    assert message.HasField("description")
    assert pair.from_proto(message).description == ""


@pytest.mark.parametrize(
    ("request_model", "to_proto"),
    [
        (UpdateWorkItemRequest(work_item_id=UUID(int=1), title="x"), c.update_work_item_request_to_proto),
        (UpdateSprintRequest(sprint_id=UUID(int=1), name="x"), c.update_sprint_request_to_proto),
        (UpdateProjectRequest(project_id=UUID(int=1), title="x"), c.update_project_request_to_proto),
    ],
    ids=["work_item", "sprint", "project"],
)
def test_update_without_expected_version_is_refused_before_the_wire(
    request_model: Any, to_proto: Callable[[Any], Message]
) -> None:
    with pytest.raises(ValidationException) as info:
        to_proto(request_model)
    assert info.value.fields == ["expected_version"]


def test_update_parent_to_top_level_is_carried_without_a_parent_id() -> None:
    request = UpdateWorkItemRequest(work_item_id=UUID(int=1), expected_version=2, update_parent=True)
    message = c.update_work_item_request_to_proto(request)
    assert message.update_parent
    assert not message.HasField("parent_id")
    assert c.update_work_item_request_from_proto(message) == request


@pytest.mark.parametrize(
    ("model_value", "wire_value"),
    [(WorkItemType.EPIC, 2), (WorkItemType.STORY, 3), (WorkItemType.TASK, 4)],
)
def test_work_item_type_wire_numbers(model_value: WorkItemType, wire_value: int) -> None:
    assert c.work_item_type_to_wire(model_value) == wire_value
    assert c.work_item_type_from_wire(wire_value) is model_value


@pytest.mark.parametrize(
    ("model_value", "wire_value"),
    [
        (SprintStatus.PLANNED, 1),
        (SprintStatus.ACTIVE, 2),
        (SprintStatus.COMPLETED, 3),
        (SprintStatus.CANCELLED, 4),
    ],
)
def test_sprint_status_wire_numbers(model_value: SprintStatus, wire_value: int) -> None:
    assert c.sprint_status_to_wire(model_value) == wire_value
    assert c.sprint_status_from_wire(wire_value) is model_value


# ------------------------------------------------------------------ malformed wire data

_NOT_A_UUID = "not-a-uuid"
_BAD_TIMES = [2**62, -(2**62), 253_402_300_800]  # far future, far past, year 10000


class Bad(NamedTuple):
    wire_name: str
    path: str  # where to put the bad value in the message
    value: object
    error_field: str  # the field ValidationException must name


def _uuid_cases() -> list[Bad]:
    cases: list[Bad] = []
    entity_ids = {
        "WorkItem": [
            "id",
            "project_id",
            "parent_id",
            "assignee_id",
            "sprint_id",
            "created_by",
            "updated_by",
            "ancestor_ids",
            "descendant_ids",
        ],
        "Sprint": ["id", "project_id", "created_by", "updated_by"],
        "Project": ["id", "created_by", "updated_by"],
    }
    prefix = {"WorkItem": "work_item", "Sprint": "sprint", "Project": "project"}
    for kind, names in entity_ids.items():
        for name in names:
            cases.append(Bad(kind, name, _NOT_A_UUID, f"{prefix[kind]}.{name}"))
            cases.append(
                Bad(f"{kind}Created", f"{prefix[kind]}.{name}", _NOT_A_UUID, f"{prefix[kind]}.{name}")
            )
        for event in ("Created", "Updated", "Deleted"):
            cases.append(Bad(f"{kind}{event}", "user_id", _NOT_A_UUID, "user_id"))
        cases.append(Bad(f"{kind}Deleted", f"{prefix[kind]}_id", "", f"{prefix[kind]}_id"))
    cases += [Bad("ActivityLogEntry", n, _NOT_A_UUID, f"entry.{n}") for n in ("id", "entity_id", "user_id")]
    requests = {
        "CreateWorkItemRequest": ["project_id", "parent_id"],
        "UpdateWorkItemRequest": ["work_item_id", "assignee_id", "sprint_id", "parent_id"],
        "CreateSprintRequest": ["project_id"],
        "UpdateSprintRequest": ["sprint_id"],
        "UpdateProjectRequest": ["project_id"],
    }
    cases += [Bad(m, n, _NOT_A_UUID, n) for m, names in requests.items() for n in names]
    return cases


def _enum_cases() -> list[Bad]:
    cases: list[Bad] = []
    for value in (0, 1, 5, 99, -1):
        cases.append(Bad("WorkItem", "item_type", value, "work_item.item_type"))
        cases.append(Bad("WorkItemCreated", "work_item.item_type", value, "work_item.item_type"))
        cases.append(Bad("CreateWorkItemRequest", "item_type", value, "item_type"))
    for value in (0, 5, 99, -1):
        cases.append(Bad("Sprint", "status", value, "sprint.status"))
        cases.append(Bad("SprintUpdated", "sprint.status", value, "sprint.status"))
        cases.append(Bad("UpdateSprintRequest", "status", value, "status"))
    for value in (0, 3, 99):
        cases.append(Bad("Project", "status", value, "project.status"))
        cases.append(Bad("UpdateProjectRequest", "status", value, "status"))
    return cases


def _time_cases() -> list[Bad]:
    cases: list[Bad] = []
    times = {
        "WorkItem": ("work_item", ["created_at", "updated_at", "deleted_at"]),
        "Sprint": ("sprint", ["start_date", "end_date", "created_at", "updated_at", "deleted_at"]),
        "Project": ("project", ["created_at", "updated_at", "deleted_at"]),
        "ActivityLogEntry": ("entry", ["timestamp"]),
    }
    for value in _BAD_TIMES:
        for kind, (prefix, names) in times.items():
            cases += [Bad(kind, n, value, f"{prefix}.{n}") for n in names]
        cases += [Bad("CreateSprintRequest", n, value, n) for n in ("start_date", "end_date")]
        cases += [Bad("UpdateSprintRequest", n, value, n) for n in ("start_date", "end_date")]
    cases.append(Bad("WorkItemUpdated", "work_item.created_at", _BAD_TIMES[0], "work_item.created_at"))
    return cases


def _put(message: Message, path: str, value: object) -> None:
    *parents, name = path.split(".")
    target: Any = message
    for part in parents:
        target = getattr(target, part)
    if target.DESCRIPTOR.fields_by_name[name].is_repeated:
        getattr(target, name).append(value)
    else:
        setattr(target, name, value)


_MALFORMED = _uuid_cases() + _enum_cases() + _time_cases()


@pytest.mark.parametrize("bad", _MALFORMED, ids=[f"{b.wire_name}.{b.path}={b.value!r}" for b in _MALFORMED])
def test_malformed_wire_value_raises_validation_exception_naming_the_field(bad: Bad) -> None:
    message = _sample(bad.wire_name)
    _put(message, bad.path, bad.value)

    with pytest.raises(ValidationException) as info:
        BY_NAME[bad.wire_name].from_proto(message)

    assert bad.error_field in info.value.fields
    assert bad.error_field in str(info.value)
    assert not isinstance(info.value, ValueError)


@s.PROPERTY
@given(value=st.text())
def test_uuid_from_wire_accepts_uuids_and_rejects_the_rest_cleanly(value: str) -> None:
    parsed, error = _outcome(c.uuid_from_wire, value, "some_id")
    if error is not None:
        assert error.fields == ["some_id"]
    else:
        assert isinstance(parsed, UUID)


@s.PROPERTY
@given(value=st.uuids())
def test_canonical_uuid_text_round_trips(value: UUID) -> None:
    assert str(c.uuid_from_wire(str(value), "id")) == str(value)


@s.PROPERTY
@given(seconds=s.INT64)
def test_datetime_from_wire_is_exact_or_a_validation_exception(seconds: int) -> None:
    value, error = _outcome(c.datetime_from_wire, seconds, "at")
    if error is not None:
        assert error.fields == ["at"]
    else:
        assert value.utcoffset() == timedelta(0)
        assert c.datetime_to_wire(value) == seconds
