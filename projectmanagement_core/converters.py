"""Lossless conversion between the wire messages (``messages_pb2``) and the frozen models.

Both directions exist for every model. proto3 ``optional`` presence is respected: an absent field
becomes ``None`` and ``None`` is left absent, so ``model -> proto -> model`` is the identity.
Malformed wire data (an id that is not a UUID, an enum number this client does not know, a time
outside ``datetime``'s range) raises ``ValidationException`` naming the field, never a bare
``ValueError`` from deep inside.

Server entities skip pydantic's re-validation of values their converter has already produced and
checked (see "trusted construction" below); request models, which carry user input, always validate.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ValidationError

from projectmanagement_core.exceptions import FieldError, ValidationException
from projectmanagement_core.models import (
    CLEAR,
    ActivityLogEntry,
    CreateProjectRequest,
    CreateSprintRequest,
    CreateWorkItemRequest,
    FieldChange,
    Project,
    ProjectCreated,
    ProjectDeleted,
    ProjectStatus,
    ProjectUpdated,
    Sprint,
    SprintCreated,
    SprintDeleted,
    SprintStatus,
    SprintUpdated,
    UpdateProjectRequest,
    UpdateSprintRequest,
    UpdateWorkItemRequest,
    WorkItem,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemType,
    WorkItemUpdated,
)
from projectmanagement_core.models._base import UtcDateTime
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_core.validation import STORY_POINTS_MAX

__all__ = [
    "activity_log_entry_from_proto",
    "activity_log_entry_to_proto",
    "count_from_wire",
    "create_project_request_from_proto",
    "create_project_request_to_proto",
    "create_sprint_request_from_proto",
    "create_sprint_request_to_proto",
    "create_work_item_request_from_proto",
    "create_work_item_request_to_proto",
    "datetime_from_wire",
    "datetime_to_wire",
    "field_change_from_proto",
    "field_change_to_proto",
    "project_created_from_proto",
    "project_created_to_proto",
    "project_deleted_from_proto",
    "project_deleted_to_proto",
    "project_from_proto",
    "project_to_proto",
    "project_updated_from_proto",
    "project_updated_to_proto",
    "sprint_created_from_proto",
    "sprint_created_to_proto",
    "sprint_deleted_from_proto",
    "sprint_deleted_to_proto",
    "sprint_from_proto",
    "sprint_status_from_wire",
    "sprint_status_to_wire",
    "sprint_to_proto",
    "sprint_updated_from_proto",
    "sprint_updated_to_proto",
    "update_project_request_from_proto",
    "update_project_request_to_proto",
    "update_sprint_request_from_proto",
    "update_sprint_request_to_proto",
    "update_work_item_request_from_proto",
    "update_work_item_request_to_proto",
    "uuid_from_wire",
    "work_item_created_from_proto",
    "work_item_created_to_proto",
    "work_item_deleted_from_proto",
    "work_item_deleted_to_proto",
    "work_item_from_proto",
    "work_item_to_proto",
    "work_item_type_from_wire",
    "work_item_type_to_wire",
    "work_item_updated_from_proto",
    "work_item_updated_to_proto",
]

_E = TypeVar("_E")
#: pm-server's work_item.rs: story points 0-100 (a stored value outside is impossible).
_M = TypeVar("_M", bound=BaseModel)

# ------------------------------------------------------------------ scalars

_WORK_ITEM_TYPE_TO_WIRE: dict[WorkItemType, int] = {
    WorkItemType.EPIC: pb.EPIC,
    WorkItemType.STORY: pb.STORY,
    WorkItemType.TASK: pb.TASK,
}
_WORK_ITEM_TYPE_FROM_WIRE = {v: k for k, v in _WORK_ITEM_TYPE_TO_WIRE.items()}

_SPRINT_STATUS_TO_WIRE: dict[SprintStatus, int] = {
    SprintStatus.PLANNED: pb.PLANNED,
    SprintStatus.ACTIVE: pb.ACTIVE,
    SprintStatus.COMPLETED: pb.COMPLETED,
    SprintStatus.CANCELLED: pb.CANCELLED,
}
_SPRINT_STATUS_FROM_WIRE = {v: k for k, v in _SPRINT_STATUS_TO_WIRE.items()}

_PROJECT_STATUS_TO_WIRE: dict[ProjectStatus, int] = {
    ProjectStatus.ACTIVE: pb.PROJECT_STATUS_ACTIVE,
    ProjectStatus.ARCHIVED: pb.PROJECT_STATUS_ARCHIVED,
}
_PROJECT_STATUS_FROM_WIRE = {v: k for k, v in _PROJECT_STATUS_TO_WIRE.items()}


def _invalid(field: str, message: str) -> ValidationException:
    return ValidationException(FieldError(field, message))


#: Parsed ids by their wire text. The same few ids (project, users, sprint, parents) recur in every
#: item of every answer, and ``UUID(text)`` costs about a microsecond each time. Bounded, so a long
#: session holds at most this many (about 0.3 KB each, so about 1 MB); only successful parses are kept.
_UUID_CACHE_SIZE = 4096
_parse_uuid = functools.lru_cache(maxsize=_UUID_CACHE_SIZE)(UUID)


def uuid_from_wire(value: str, field: str) -> UUID:
    """Parse a wire id; a malformed one raises ``ValidationException`` naming ``field``."""
    try:
        return _parse_uuid(value)
    except (ValueError, TypeError, AttributeError):
        raise _invalid(field, f"not a UUID: {value!r}") from None


def _enum_from_wire(table: dict[int, _E], value: int, field: str) -> _E:
    try:
        return table[value]
    except KeyError:
        raise _invalid(field, f"unknown enum value {value}") from None


def work_item_type_from_wire(value: int, field: str = "item_type") -> WorkItemType:
    return _enum_from_wire(_WORK_ITEM_TYPE_FROM_WIRE, value, field)


def work_item_type_to_wire(value: WorkItemType) -> pb.WorkItemType.ValueType:
    return pb.WorkItemType.ValueType(_WORK_ITEM_TYPE_TO_WIRE[value])


def sprint_status_from_wire(value: int, field: str = "status") -> SprintStatus:
    return _enum_from_wire(_SPRINT_STATUS_FROM_WIRE, value, field)


def sprint_status_to_wire(value: SprintStatus) -> pb.SprintStatus.ValueType:
    return pb.SprintStatus.ValueType(_SPRINT_STATUS_TO_WIRE[value])


def _project_status_from_wire(value: int, field: str = "status") -> ProjectStatus:
    return _enum_from_wire(_PROJECT_STATUS_FROM_WIRE, value, field)


def _project_status_to_wire(value: ProjectStatus) -> pb.ProjectStatus.ValueType:
    return pb.ProjectStatus.ValueType(_PROJECT_STATUS_TO_WIRE[value])


def datetime_from_wire(seconds: int, field: str) -> datetime:
    """Unix seconds -> aware UTC datetime; out-of-range values raise ``ValidationException``."""
    try:
        return datetime.fromtimestamp(seconds, UTC)  # positional: measurably cheaper
    except (OverflowError, OSError, ValueError):
        raise _invalid(field, f"timestamp out of range: {seconds}") from None


def count_from_wire(value: int, field: str, high: int | None = None) -> int:
    """A version, position or count as received; a negative one (or one above ``high``) is an
    impossible value a broken or hostile server sent, so it raises ``ValidationException`` naming
    ``field`` instead of reaching the caller (and ordering rules that assume ``version >= 0``)."""
    if value < 0 or (high is not None and value > high):
        bound = f"between 0 and {high}" if high is not None else ">= 0"
        raise _invalid(field, f"impossible value {value}: must be {bound}")
    return value


def datetime_to_wire(value: datetime) -> int:
    """Aware datetime -> Unix seconds (the models already hold whole UTC seconds)."""
    return int(value.timestamp())


def _opt(message: Any, name: str) -> Any:
    """The value of a proto3 ``optional`` field, or None when absent."""
    return getattr(message, name) if message.HasField(name) else None


def _opt_uuid(message: Any, name: str, prefix: str = "") -> UUID | None:
    return uuid_from_wire(getattr(message, name), prefix + name) if message.HasField(name) else None


def _opt_clearable_uuid(message: Any, name: str) -> UUID | str | None:
    """An optional id of an update: absent is None, an empty string is ``CLEAR`` (pm-server's "none")."""
    if not message.HasField(name):
        return None
    value = getattr(message, name)
    return CLEAR if value == CLEAR else uuid_from_wire(value, name)


def _opt_time(message: Any, name: str, prefix: str = "") -> datetime | None:
    return datetime_from_wire(getattr(message, name), prefix + name) if message.HasField(name) else None


def _uuids(values: Sequence[str], field: str) -> tuple[UUID, ...]:
    """A repeated id field as a tuple; one ``map`` in the common all-valid case, no generator."""
    if not values:
        return ()
    try:
        return tuple(map(_parse_uuid, values))
    except (ValueError, TypeError, AttributeError):
        return tuple([uuid_from_wire(v, field) for v in values])  # raises, naming the field


def _build(model: type[_E], field: str, **values: Any) -> _E:
    """Construct a model, turning pydantic's errors into one ``ValidationException``."""
    try:
        return model(**values)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in (field, *e["loc"]) if p != ""), e["msg"])
            for e in exc.errors()
        ]
        raise ValidationException(errors) from None


def _set_optional(message: Any, name: str, value: Any) -> None:
    if value is not None:
        setattr(message, name, value)


# ------------------------------------------------------------------ trusted construction
#
# Server entities (WorkItem, Sprint, Project, ActivityLogEntry, FieldChange) arrive by the dozen in
# every list answer. Their converters already produce each value in its final form: ``UUID``
# objects, enum members, aware UTC whole-second datetimes (``datetime.fromtimestamp(s, UTC)``),
# tuples, and the ``str``/``int`` protobuf hands out. Pydantic's validation would only check all of
# that again (about 15 us for a WorkItem), and ``model_construct`` is barely cheaper because it walks
# every field's aliases and defaults in Python. So those converters set the instance state directly,
# exactly as ``model_construct`` leaves it, but only for models whose schema holds nothing but types
# the converters produce exactly (no constraints, validators, aliases or config that could reject
# or change a value), and only when every field is given. Anything else takes the validating path.
# Request models (user input) always validate.

_STATE_SLOTS = frozenset(
    {"__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__"}
)
_TRUSTED_CONFIG_KEYS = frozenset({"frozen", "extra"})
_TRUSTED_ANNOTATIONS: frozenset[Any] = frozenset(
    {
        UUID,
        str,
        int,
        UUID | None,
        str | None,
        int | None,
        UtcDateTime | None,
        tuple[UUID, ...],
    }
)
_UTC_SECONDS_METADATA = list(UtcDateTime.__metadata__)  # type: ignore[attr-defined]


def _takes_converter_values_unchanged(model: type[BaseModel]) -> bool:
    """Whether validating ``model`` could neither reject nor alter a value a converter produces.

    True only for plain models: every field one of the exact types above (or an enum, or
    ``UtcDateTime``), no validators, no config beyond ``frozen``/``extra``, no private attributes or
    post-init, and instance state laid out as this pydantic version's ``model_construct`` sets it.
    """
    decorators = model.__pydantic_decorators__
    if (
        set(BaseModel.__slots__) != _STATE_SLOTS
        or not set(model.model_config) <= _TRUSTED_CONFIG_KEYS
        or model.model_config.get("extra") == "allow"
        or decorators.validators
        or decorators.field_validators
        or decorators.root_validators
        or decorators.model_validators
        or model.__private_attributes__
        or model.__pydantic_post_init__ is not None
        or model.__pydantic_root_model__
    ):
        return False
    for field in model.model_fields.values():
        annotation = field.annotation
        if field.metadata:
            if annotation is not datetime or field.metadata != _UTC_SECONDS_METADATA:
                return False
        elif not (
            annotation in _TRUSTED_ANNOTATIONS
            or (isinstance(annotation, type) and issubclass(annotation, Enum))
        ):
            return False
    return True


def _trusted_constructor(model: type[_M], field: str) -> Callable[..., _M]:
    """A constructor for ``model`` that skips re-validating converter-made values when that is safe.

    Falls back to the validating ``_build`` when ``model`` is not plain (see above) and, per call,
    when the values do not name every field exactly (a field added to the model but not yet to its
    converter would otherwise be silently missing).
    """
    names = frozenset(model.model_fields)
    new = model.__new__
    set_state = object.__setattr__

    def validated(**values: Any) -> _M:
        return _build(model, field, **values)

    if not _takes_converter_values_unchanged(model):
        return validated

    def trusted(**values: Any) -> _M:
        if values.keys() != names:
            return validated(**values)
        instance = new(model)
        set_state(instance, "__dict__", values)
        set_state(instance, "__pydantic_fields_set__", set(names))
        set_state(instance, "__pydantic_extra__", None)
        set_state(instance, "__pydantic_private__", None)
        return instance

    return trusted


_new_field_change = _trusted_constructor(FieldChange, "")
_new_activity_log_entry = _trusted_constructor(ActivityLogEntry, "entry")
_new_work_item = _trusted_constructor(WorkItem, "work_item")
_new_sprint = _trusted_constructor(Sprint, "sprint")
_new_project = _trusted_constructor(Project, "project")


# ------------------------------------------------------------------ FieldChange, activity


def field_change_from_proto(message: pb.FieldChange) -> FieldChange:
    return _new_field_change(
        field_name=message.field_name,
        old_value=message.old_value if message.HasField("old_value") else None,
        new_value=message.new_value if message.HasField("new_value") else None,
    )


def field_change_to_proto(change: FieldChange) -> pb.FieldChange:
    message = pb.FieldChange(field_name=change.field_name)
    _set_optional(message, "old_value", change.old_value)
    _set_optional(message, "new_value", change.new_value)
    return message


def activity_log_entry_from_proto(message: pb.ActivityLogEntry) -> ActivityLogEntry:
    has = message.HasField
    return _new_activity_log_entry(
        id=uuid_from_wire(message.id, "entry.id"),
        entity_type=message.entity_type,
        entity_id=uuid_from_wire(message.entity_id, "entry.entity_id"),
        action=message.action,
        user_id=uuid_from_wire(message.user_id, "entry.user_id"),
        timestamp=datetime_from_wire(message.timestamp, "entry.timestamp"),
        field_name=message.field_name if has("field_name") else None,
        old_value=message.old_value if has("old_value") else None,
        new_value=message.new_value if has("new_value") else None,
        comment=message.comment if has("comment") else None,
    )


def activity_log_entry_to_proto(entry: ActivityLogEntry) -> pb.ActivityLogEntry:
    message = pb.ActivityLogEntry(
        id=str(entry.id),
        entity_type=entry.entity_type,
        entity_id=str(entry.entity_id),
        action=entry.action,
        user_id=str(entry.user_id),
        timestamp=datetime_to_wire(entry.timestamp),
    )
    for name in ("field_name", "old_value", "new_value", "comment"):
        _set_optional(message, name, getattr(entry, name))
    return message


# ------------------------------------------------------------------ work items


def work_item_from_proto(message: pb.WorkItem) -> WorkItem:
    # Hot path (20 per GetWorkItems answer): field names are literals and optionals inline, so
    # nothing is built for an error message unless there is an error.
    has = message.HasField
    return _new_work_item(
        id=uuid_from_wire(message.id, "work_item.id"),
        item_type=work_item_type_from_wire(message.item_type, "work_item.item_type"),
        project_id=uuid_from_wire(message.project_id, "work_item.project_id"),
        title=message.title,
        status=message.status,
        priority=message.priority,
        version=count_from_wire(message.version, "work_item.version"),
        # Not checked: pm-server gives a new child ``(max + 1) as i32``, which wraps to -2**31
        # after a stored 2**31 - 1, so a negative position is something it can really send.
        position=message.position,
        item_number=count_from_wire(message.item_number, "work_item.item_number"),
        parent_id=uuid_from_wire(message.parent_id, "work_item.parent_id") if has("parent_id") else None,
        description=message.description if has("description") else None,
        assignee_id=uuid_from_wire(message.assignee_id, "work_item.assignee_id")
        if has("assignee_id")
        else None,
        sprint_id=uuid_from_wire(message.sprint_id, "work_item.sprint_id") if has("sprint_id") else None,
        story_points=count_from_wire(message.story_points, "work_item.story_points", STORY_POINTS_MAX)
        if has("story_points")
        else None,
        created_at=datetime_from_wire(message.created_at, "work_item.created_at"),
        updated_at=datetime_from_wire(message.updated_at, "work_item.updated_at"),
        created_by=uuid_from_wire(message.created_by, "work_item.created_by"),
        updated_by=uuid_from_wire(message.updated_by, "work_item.updated_by"),
        deleted_at=datetime_from_wire(message.deleted_at, "work_item.deleted_at")
        if has("deleted_at")
        else None,
        ancestor_ids=_uuids(message.ancestor_ids, "work_item.ancestor_ids"),
        descendant_ids=_uuids(message.descendant_ids, "work_item.descendant_ids"),
    )


def work_item_to_proto(item: WorkItem) -> pb.WorkItem:
    message = pb.WorkItem(
        id=str(item.id),
        item_type=work_item_type_to_wire(item.item_type),
        project_id=str(item.project_id),
        position=item.position,
        title=item.title,
        status=item.status,
        priority=item.priority,
        version=item.version,
        item_number=item.item_number,
        created_at=datetime_to_wire(item.created_at),
        updated_at=datetime_to_wire(item.updated_at),
        created_by=str(item.created_by),
        updated_by=str(item.updated_by),
        ancestor_ids=[str(a) for a in item.ancestor_ids],
        descendant_ids=[str(d) for d in item.descendant_ids],
    )
    for name in ("parent_id", "assignee_id", "sprint_id"):
        value = getattr(item, name)
        _set_optional(message, name, None if value is None else str(value))
    _set_optional(message, "description", item.description)
    _set_optional(message, "story_points", item.story_points)
    _set_optional(
        message, "deleted_at", None if item.deleted_at is None else datetime_to_wire(item.deleted_at)
    )
    return message


def create_work_item_request_from_proto(message: pb.CreateWorkItemRequest) -> CreateWorkItemRequest:
    return _build(
        CreateWorkItemRequest,
        "",
        project_id=uuid_from_wire(message.project_id, "project_id"),
        item_type=work_item_type_from_wire(message.item_type),
        title=message.title,
        description=_opt(message, "description"),
        parent_id=_opt_uuid(message, "parent_id"),
        status=_opt(message, "status"),
        priority=_opt(message, "priority"),
    )


def create_work_item_request_to_proto(request: CreateWorkItemRequest) -> pb.CreateWorkItemRequest:
    message = pb.CreateWorkItemRequest(
        item_type=work_item_type_to_wire(request.item_type),
        title=request.title,
        project_id=str(request.project_id),
    )
    _set_optional(message, "description", request.description)
    _set_optional(message, "parent_id", None if request.parent_id is None else str(request.parent_id))
    _set_optional(message, "status", request.status)
    _set_optional(message, "priority", request.priority)
    return message


def update_work_item_request_from_proto(message: pb.UpdateWorkItemRequest) -> UpdateWorkItemRequest:
    return _build(
        UpdateWorkItemRequest,
        "",
        work_item_id=uuid_from_wire(message.work_item_id, "work_item_id"),
        expected_version=message.expected_version,
        title=_opt(message, "title"),
        description=_opt(message, "description"),
        status=_opt(message, "status"),
        assignee_id=_opt_clearable_uuid(message, "assignee_id"),
        sprint_id=_opt_clearable_uuid(message, "sprint_id"),
        position=_opt(message, "position"),
        priority=_opt(message, "priority"),
        story_points=_opt(message, "story_points"),
        parent_id=_opt_clearable_uuid(message, "parent_id"),
        update_parent=message.update_parent,
    )


def _require_version(value: int | None) -> int:
    if value is None:
        raise _invalid("expected_version", "is required (the store fills it from its copy)")
    return value


def update_work_item_request_to_proto(request: UpdateWorkItemRequest) -> pb.UpdateWorkItemRequest:
    message = pb.UpdateWorkItemRequest(
        work_item_id=str(request.work_item_id),
        expected_version=_require_version(request.expected_version),
        update_parent=request.update_parent,
    )
    for name in ("title", "description", "status", "position", "priority", "story_points"):
        _set_optional(message, name, getattr(request, name))
    for name in ("assignee_id", "sprint_id", "parent_id"):
        value = getattr(request, name)
        _set_optional(message, name, None if value is None else str(value))
    return message


def work_item_created_from_proto(message: pb.WorkItemCreated) -> WorkItemCreated:
    return WorkItemCreated(
        work_item=work_item_from_proto(message.work_item),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def work_item_created_to_proto(event: WorkItemCreated) -> pb.WorkItemCreated:
    return pb.WorkItemCreated(work_item=work_item_to_proto(event.work_item), user_id=str(event.user_id))


def work_item_updated_from_proto(message: pb.WorkItemUpdated) -> WorkItemUpdated:
    return WorkItemUpdated(
        work_item=work_item_from_proto(message.work_item),
        changes=tuple(field_change_from_proto(c) for c in message.changes),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def work_item_updated_to_proto(event: WorkItemUpdated) -> pb.WorkItemUpdated:
    return pb.WorkItemUpdated(
        work_item=work_item_to_proto(event.work_item),
        changes=[field_change_to_proto(c) for c in event.changes],
        user_id=str(event.user_id),
    )


def work_item_deleted_from_proto(message: pb.WorkItemDeleted) -> WorkItemDeleted:
    return WorkItemDeleted(
        work_item_id=uuid_from_wire(message.work_item_id, "work_item_id"),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def work_item_deleted_to_proto(event: WorkItemDeleted) -> pb.WorkItemDeleted:
    return pb.WorkItemDeleted(work_item_id=str(event.work_item_id), user_id=str(event.user_id))


# ------------------------------------------------------------------ sprints


def sprint_from_proto(message: pb.Sprint) -> Sprint:
    has = message.HasField
    return _new_sprint(
        id=uuid_from_wire(message.id, "sprint.id"),
        project_id=uuid_from_wire(message.project_id, "sprint.project_id"),
        name=message.name,
        goal=message.goal if has("goal") else None,
        start_date=datetime_from_wire(message.start_date, "sprint.start_date"),
        end_date=datetime_from_wire(message.end_date, "sprint.end_date"),
        status=sprint_status_from_wire(message.status, "sprint.status"),
        version=count_from_wire(message.version, "sprint.version"),
        created_at=datetime_from_wire(message.created_at, "sprint.created_at"),
        updated_at=datetime_from_wire(message.updated_at, "sprint.updated_at"),
        created_by=uuid_from_wire(message.created_by, "sprint.created_by"),
        updated_by=uuid_from_wire(message.updated_by, "sprint.updated_by"),
        deleted_at=datetime_from_wire(message.deleted_at, "sprint.deleted_at") if has("deleted_at") else None,
    )


def sprint_to_proto(sprint: Sprint) -> pb.Sprint:
    message = pb.Sprint(
        id=str(sprint.id),
        project_id=str(sprint.project_id),
        name=sprint.name,
        start_date=datetime_to_wire(sprint.start_date),
        end_date=datetime_to_wire(sprint.end_date),
        status=sprint_status_to_wire(sprint.status),
        version=sprint.version,
        created_at=datetime_to_wire(sprint.created_at),
        updated_at=datetime_to_wire(sprint.updated_at),
        created_by=str(sprint.created_by),
        updated_by=str(sprint.updated_by),
    )
    _set_optional(message, "goal", sprint.goal)
    _set_optional(
        message, "deleted_at", None if sprint.deleted_at is None else datetime_to_wire(sprint.deleted_at)
    )
    return message


def create_sprint_request_from_proto(message: pb.CreateSprintRequest) -> CreateSprintRequest:
    return _build(
        CreateSprintRequest,
        "",
        project_id=uuid_from_wire(message.project_id, "project_id"),
        name=message.name,
        goal=_opt(message, "goal"),
        start_date=datetime_from_wire(message.start_date, "start_date"),
        end_date=datetime_from_wire(message.end_date, "end_date"),
    )


def create_sprint_request_to_proto(request: CreateSprintRequest) -> pb.CreateSprintRequest:
    message = pb.CreateSprintRequest(
        project_id=str(request.project_id),
        name=request.name,
        start_date=datetime_to_wire(request.start_date),
        end_date=datetime_to_wire(request.end_date),
    )
    _set_optional(message, "goal", request.goal)
    return message


def update_sprint_request_from_proto(message: pb.UpdateSprintRequest) -> UpdateSprintRequest:
    return _build(
        UpdateSprintRequest,
        "",
        sprint_id=uuid_from_wire(message.sprint_id, "sprint_id"),
        expected_version=message.expected_version,
        name=_opt(message, "name"),
        goal=_opt(message, "goal"),
        start_date=_opt_time(message, "start_date"),
        end_date=_opt_time(message, "end_date"),
        status=sprint_status_from_wire(message.status) if message.HasField("status") else None,
    )


def update_sprint_request_to_proto(request: UpdateSprintRequest) -> pb.UpdateSprintRequest:
    message = pb.UpdateSprintRequest(
        sprint_id=str(request.sprint_id),
        expected_version=_require_version(request.expected_version),
    )
    _set_optional(message, "name", request.name)
    _set_optional(message, "goal", request.goal)
    for name in ("start_date", "end_date"):
        value = getattr(request, name)
        _set_optional(message, name, None if value is None else datetime_to_wire(value))
    if request.status is not None:
        message.status = sprint_status_to_wire(request.status)
    return message


def sprint_created_from_proto(message: pb.SprintCreated) -> SprintCreated:
    return SprintCreated(
        sprint=sprint_from_proto(message.sprint), user_id=uuid_from_wire(message.user_id, "user_id")
    )


def sprint_created_to_proto(event: SprintCreated) -> pb.SprintCreated:
    return pb.SprintCreated(sprint=sprint_to_proto(event.sprint), user_id=str(event.user_id))


def sprint_updated_from_proto(message: pb.SprintUpdated) -> SprintUpdated:
    return SprintUpdated(
        sprint=sprint_from_proto(message.sprint),
        changes=tuple(field_change_from_proto(c) for c in message.changes),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def sprint_updated_to_proto(event: SprintUpdated) -> pb.SprintUpdated:
    return pb.SprintUpdated(
        sprint=sprint_to_proto(event.sprint),
        changes=[field_change_to_proto(c) for c in event.changes],
        user_id=str(event.user_id),
    )


def sprint_deleted_from_proto(message: pb.SprintDeleted) -> SprintDeleted:
    return SprintDeleted(
        sprint_id=uuid_from_wire(message.sprint_id, "sprint_id"),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def sprint_deleted_to_proto(event: SprintDeleted) -> pb.SprintDeleted:
    return pb.SprintDeleted(sprint_id=str(event.sprint_id), user_id=str(event.user_id))


# ------------------------------------------------------------------ projects


def project_from_proto(message: pb.Project) -> Project:
    has = message.HasField
    return _new_project(
        id=uuid_from_wire(message.id, "project.id"),
        key=message.key,
        title=message.title,
        description=message.description if has("description") else None,
        status=_project_status_from_wire(message.status, "project.status"),
        version=count_from_wire(message.version, "project.version"),
        created_at=datetime_from_wire(message.created_at, "project.created_at"),
        updated_at=datetime_from_wire(message.updated_at, "project.updated_at"),
        created_by=uuid_from_wire(message.created_by, "project.created_by"),
        updated_by=uuid_from_wire(message.updated_by, "project.updated_by"),
        deleted_at=datetime_from_wire(message.deleted_at, "project.deleted_at")
        if has("deleted_at")
        else None,
        next_work_item_number=count_from_wire(message.next_work_item_number, "project.next_work_item_number"),
    )


def project_to_proto(project: Project) -> pb.Project:
    message = pb.Project(
        id=str(project.id),
        key=project.key,
        title=project.title,
        status=_project_status_to_wire(project.status),
        version=project.version,
        created_at=datetime_to_wire(project.created_at),
        updated_at=datetime_to_wire(project.updated_at),
        created_by=str(project.created_by),
        updated_by=str(project.updated_by),
        next_work_item_number=project.next_work_item_number,
    )
    _set_optional(message, "description", project.description)
    _set_optional(
        message, "deleted_at", None if project.deleted_at is None else datetime_to_wire(project.deleted_at)
    )
    return message


def create_project_request_from_proto(message: pb.CreateProjectRequest) -> CreateProjectRequest:
    return _build(
        CreateProjectRequest,
        "",
        key=message.key,
        title=message.title,
        description=_opt(message, "description"),
    )


def create_project_request_to_proto(request: CreateProjectRequest) -> pb.CreateProjectRequest:
    message = pb.CreateProjectRequest(key=request.key, title=request.title)
    _set_optional(message, "description", request.description)
    return message


def update_project_request_from_proto(message: pb.UpdateProjectRequest) -> UpdateProjectRequest:
    return _build(
        UpdateProjectRequest,
        "",
        project_id=uuid_from_wire(message.project_id, "project_id"),
        expected_version=message.expected_version,
        title=_opt(message, "title"),
        description=_opt(message, "description"),
        status=_project_status_from_wire(message.status) if message.HasField("status") else None,
    )


def update_project_request_to_proto(request: UpdateProjectRequest) -> pb.UpdateProjectRequest:
    message = pb.UpdateProjectRequest(
        project_id=str(request.project_id),
        expected_version=_require_version(request.expected_version),
    )
    _set_optional(message, "title", request.title)
    _set_optional(message, "description", request.description)
    if request.status is not None:
        message.status = _project_status_to_wire(request.status)
    return message


def project_created_from_proto(message: pb.ProjectCreated) -> ProjectCreated:
    return ProjectCreated(
        project=project_from_proto(message.project), user_id=uuid_from_wire(message.user_id, "user_id")
    )


def project_created_to_proto(event: ProjectCreated) -> pb.ProjectCreated:
    return pb.ProjectCreated(project=project_to_proto(event.project), user_id=str(event.user_id))


def project_updated_from_proto(message: pb.ProjectUpdated) -> ProjectUpdated:
    return ProjectUpdated(
        project=project_from_proto(message.project),
        changes=tuple(field_change_from_proto(c) for c in message.changes),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def project_updated_to_proto(event: ProjectUpdated) -> pb.ProjectUpdated:
    return pb.ProjectUpdated(
        project=project_to_proto(event.project),
        changes=[field_change_to_proto(c) for c in event.changes],
        user_id=str(event.user_id),
    )


def project_deleted_from_proto(message: pb.ProjectDeleted) -> ProjectDeleted:
    return ProjectDeleted(
        project_id=uuid_from_wire(message.project_id, "project_id"),
        user_id=uuid_from_wire(message.user_id, "user_id"),
    )


def project_deleted_to_proto(event: ProjectDeleted) -> pb.ProjectDeleted:
    return pb.ProjectDeleted(project_id=str(event.project_id), user_id=str(event.user_id))
