"""Hypothesis strategies for the core models and their wire messages.

Two families: model strategies (``work_items`` ...) build valid frozen models; wire strategies
(``wire_work_items`` ...) build protobuf messages directly from wire values, so that the
``proto -> model -> proto`` direction is not generated through the code under test. A wire
strategy takes the value strategies for ids, times and enums, so the same builder also makes
hostile messages (any text as an id, any int64 as a time, any int32 as an enum).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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
from projectmanagement_core.proto import messages_pb2 as pb

__all__ = [
    "PROPERTY",
    "ValueSources",
    "activity_log_entries",
    "create_project_requests",
    "create_sprint_requests",
    "create_work_item_requests",
    "field_changes",
    "hostile_values",
    "project_created_events",
    "project_deleted_events",
    "project_updated_events",
    "projects",
    "sprint_created_events",
    "sprint_deleted_events",
    "sprint_updated_events",
    "sprints",
    "update_project_requests",
    "update_sprint_requests",
    "update_work_item_requests",
    "valid_values",
    "wire",
    "work_item_created_events",
    "work_item_deleted_events",
    "work_item_updated_events",
    "work_items",
]

#: Settings for every property in tests/core: enough examples to find edge cases, fast overall.
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
#: What a server entity's versions and numbers can be (negative ones are refused).
COUNTS = st.integers(0, 2**31 - 1)
#: A stored work item's story points (pm-server: 0-100).
POINTS = st.integers(0, 100)
_EARLIEST = datetime(1900, 1, 1)
_LATEST = datetime(2999, 12, 31, 23, 59, 59)

uuids = st.uuids()
#: Any text, "" and astral-plane characters included (hypothesis never draws lone surrogates).
texts = st.text(max_size=24)
#: Optional text: absent, present-but-empty, or anything.
optional_texts = st.none() | st.just("") | texts
times = st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _id_tuples() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(uuids, max_size=3).map(tuple)


# ------------------------------------------------------------------ models

field_changes = st.builds(FieldChange, field_name=texts, old_value=optional_texts, new_value=optional_texts)

activity_log_entries = st.builds(
    ActivityLogEntry,
    id=uuids,
    entity_type=texts,
    entity_id=uuids,
    action=texts,
    user_id=uuids,
    timestamp=times,
    field_name=optional_texts,
    old_value=optional_texts,
    new_value=optional_texts,
    comment=optional_texts,
)

work_items = st.builds(
    WorkItem,
    id=uuids,
    item_type=st.sampled_from(WorkItemType),
    project_id=uuids,
    title=texts,
    status=texts,
    priority=texts,
    version=COUNTS,
    position=INT32,
    item_number=COUNTS,
    parent_id=_optional(uuids),
    description=optional_texts,
    assignee_id=_optional(uuids),
    sprint_id=_optional(uuids),
    story_points=_optional(POINTS),
    created_at=times,
    updated_at=times,
    created_by=uuids,
    updated_by=uuids,
    deleted_at=_optional(times),
    ancestor_ids=_id_tuples(),
    descendant_ids=_id_tuples(),
)

sprints = st.builds(
    Sprint,
    id=uuids,
    project_id=uuids,
    name=texts,
    goal=optional_texts,
    start_date=times,
    end_date=times,
    status=st.sampled_from(SprintStatus),
    version=COUNTS,
    created_at=times,
    updated_at=times,
    created_by=uuids,
    updated_by=uuids,
    deleted_at=_optional(times),
)

projects = st.builds(
    Project,
    id=uuids,
    key=texts,
    title=texts,
    description=optional_texts,
    status=st.sampled_from(ProjectStatus),
    version=COUNTS,
    created_at=times,
    updated_at=times,
    created_by=uuids,
    updated_by=uuids,
    deleted_at=_optional(times),
    next_work_item_number=COUNTS,
)

create_work_item_requests = st.builds(
    CreateWorkItemRequest,
    project_id=uuids,
    item_type=st.sampled_from(WorkItemType),
    title=texts,
    description=optional_texts,
    parent_id=_optional(uuids),
    status=optional_texts,
    priority=optional_texts,
)

# expected_version is required on the wire (the converter refuses None), so always drawn here.
update_work_item_requests = st.builds(
    UpdateWorkItemRequest,
    work_item_id=uuids,
    expected_version=INT32,
    title=optional_texts,
    description=optional_texts,
    status=optional_texts,
    assignee_id=_optional(st.one_of(uuids, st.just(CLEAR))),
    sprint_id=_optional(st.one_of(uuids, st.just(CLEAR))),
    position=_optional(INT32),
    priority=optional_texts,
    story_points=_optional(INT32),
    parent_id=_optional(st.one_of(uuids, st.just(CLEAR))),
    update_parent=st.booleans(),
)

create_sprint_requests = st.builds(
    CreateSprintRequest,
    project_id=uuids,
    name=texts,
    start_date=times,
    end_date=times,
    goal=optional_texts,
)

update_sprint_requests = st.builds(
    UpdateSprintRequest,
    sprint_id=uuids,
    expected_version=INT32,
    name=optional_texts,
    goal=optional_texts,
    start_date=_optional(times),
    end_date=_optional(times),
    status=_optional(st.sampled_from(SprintStatus)),
)

create_project_requests = st.builds(CreateProjectRequest, key=texts, title=texts, description=optional_texts)

update_project_requests = st.builds(
    UpdateProjectRequest,
    project_id=uuids,
    expected_version=INT32,
    title=optional_texts,
    description=optional_texts,
    status=_optional(st.sampled_from(ProjectStatus)),
)

_changes = st.lists(field_changes, max_size=3).map(tuple)

work_item_created_events = st.builds(WorkItemCreated, work_item=work_items, user_id=uuids)
work_item_updated_events = st.builds(WorkItemUpdated, work_item=work_items, changes=_changes, user_id=uuids)
work_item_deleted_events = st.builds(WorkItemDeleted, work_item_id=uuids, user_id=uuids)
sprint_created_events = st.builds(SprintCreated, sprint=sprints, user_id=uuids)
sprint_updated_events = st.builds(SprintUpdated, sprint=sprints, changes=_changes, user_id=uuids)
sprint_deleted_events = st.builds(SprintDeleted, sprint_id=uuids, user_id=uuids)
project_created_events = st.builds(ProjectCreated, project=projects, user_id=uuids)
project_updated_events = st.builds(ProjectUpdated, project=projects, changes=_changes, user_id=uuids)
project_deleted_events = st.builds(ProjectDeleted, project_id=uuids, user_id=uuids)


# ------------------------------------------------------------------ wire messages


class ValueSources:
    """Where a wire strategy draws ids, times, enum numbers and int32s from."""

    def __init__(
        self,
        *,
        ids: st.SearchStrategy[str],
        times: st.SearchStrategy[int],
        item_types: st.SearchStrategy[int],
        sprint_statuses: st.SearchStrategy[int],
        project_statuses: st.SearchStrategy[int],
        counts: st.SearchStrategy[int] = COUNTS,
        points: st.SearchStrategy[int] = POINTS,
    ) -> None:
        self.counts = counts
        self.points = points
        self.ids = ids
        self.times = times
        self.item_types = item_types
        self.sprint_statuses = sprint_statuses
        self.project_statuses = project_statuses


#: What pm-server sends: canonical lowercase UUIDs, times a datetime can hold, known enum numbers.
valid_values = ValueSources(
    ids=uuids.map(str),
    times=st.integers(
        int(_EARLIEST.replace(tzinfo=UTC).timestamp()), int(_LATEST.replace(tzinfo=UTC).timestamp())
    ),
    item_types=st.sampled_from([pb.EPIC, pb.STORY, pb.TASK]),
    sprint_statuses=st.sampled_from([pb.PLANNED, pb.ACTIVE, pb.COMPLETED, pb.CANCELLED]),
    project_statuses=st.sampled_from([pb.PROJECT_STATUS_ACTIVE, pb.PROJECT_STATUS_ARCHIVED]),
)

#: Anything the wire types allow: ids need not be UUIDs, times need not fit a datetime, enums are open.
hostile_values = ValueSources(
    ids=uuids.map(str) | texts,
    times=valid_values.times | INT64,
    item_types=INT32,
    sprint_statuses=INT32,
    project_statuses=INT32,
    counts=INT32,
    points=INT32,
)


@st.composite
def _message(draw: st.DrawFn, cls: type[Message], fields: dict[str, st.SearchStrategy[Any]]) -> Message:
    """Build ``cls`` from per-field strategies; a drawn ``None`` leaves an optional field absent."""
    message = cls()
    for name, strategy in fields.items():
        value = draw(strategy)
        if value is None:
            continue
        field = cls.DESCRIPTOR.fields_by_name[name]
        if field.is_repeated:
            getattr(message, name).extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def _id_or_clear(v: ValueSources) -> st.SearchStrategy[str]:
    """An update's clearable id: an id, or "" (pm-server's "none")."""
    return st.one_of(v.ids, st.just(""))


def _parent_with_its_flag(message: Message) -> Message:
    """A parent travels with ``update_parent`` (pm-server ignores it otherwise; the client always sets it)."""
    if message.HasField("parent_id"):
        message.update_parent = True  # type: ignore[attr-defined]
    return message


def _wire_field_change() -> st.SearchStrategy[Message]:
    return _message(
        pb.FieldChange, {"field_name": texts, "old_value": optional_texts, "new_value": optional_texts}
    )


def _wire_work_item(v: ValueSources) -> st.SearchStrategy[Message]:
    return _message(
        pb.WorkItem,
        {
            "id": v.ids,
            "item_type": v.item_types,
            "parent_id": _optional(v.ids),
            "project_id": v.ids,
            "position": INT32,
            "title": texts,
            "description": optional_texts,
            "status": texts,
            "assignee_id": _optional(v.ids),
            "sprint_id": _optional(v.ids),
            "created_at": v.times,
            "updated_at": v.times,
            "created_by": v.ids,
            "updated_by": v.ids,
            "deleted_at": _optional(v.times),
            "priority": texts,
            "story_points": _optional(v.points),
            "version": v.counts,
            "item_number": v.counts,
            "ancestor_ids": st.lists(v.ids, max_size=3),
            "descendant_ids": st.lists(v.ids, max_size=3),
        },
    )


def _wire_sprint(v: ValueSources) -> st.SearchStrategy[Message]:
    return _message(
        pb.Sprint,
        {
            "id": v.ids,
            "project_id": v.ids,
            "name": texts,
            "goal": optional_texts,
            "start_date": v.times,
            "end_date": v.times,
            "status": v.sprint_statuses,
            "created_at": v.times,
            "updated_at": v.times,
            "created_by": v.ids,
            "updated_by": v.ids,
            "deleted_at": _optional(v.times),
            "version": v.counts,
        },
    )


def _wire_project(v: ValueSources) -> st.SearchStrategy[Message]:
    return _message(
        pb.Project,
        {
            "id": v.ids,
            "key": texts,
            "title": texts,
            "description": optional_texts,
            "status": v.project_statuses,
            "created_at": v.times,
            "updated_at": v.times,
            "created_by": v.ids,
            "updated_by": v.ids,
            "deleted_at": _optional(v.times),
            "version": v.counts,
            "next_work_item_number": v.counts,
        },
    )


def wire(name: str, v: ValueSources) -> st.SearchStrategy[Message]:
    """The wire strategy for message ``name`` (a ``messages_pb2`` class name)."""
    changes = st.lists(_wire_field_change(), max_size=3)
    builders: dict[str, Any] = {
        "FieldChange": _wire_field_change,
        "WorkItem": lambda: _wire_work_item(v),
        "Sprint": lambda: _wire_sprint(v),
        "Project": lambda: _wire_project(v),
        "ActivityLogEntry": lambda: _message(
            pb.ActivityLogEntry,
            {
                "id": v.ids,
                "entity_type": texts,
                "entity_id": v.ids,
                "action": texts,
                "field_name": optional_texts,
                "old_value": optional_texts,
                "new_value": optional_texts,
                "user_id": v.ids,
                "timestamp": v.times,
                "comment": optional_texts,
            },
        ),
        "CreateWorkItemRequest": lambda: _message(
            pb.CreateWorkItemRequest,
            {
                "item_type": v.item_types,
                "title": texts,
                "description": optional_texts,
                "parent_id": _optional(v.ids),
                "project_id": v.ids,
                "status": optional_texts,
                "priority": optional_texts,
            },
        ),
        "UpdateWorkItemRequest": lambda: _message(
            pb.UpdateWorkItemRequest,
            {
                "work_item_id": v.ids,
                "expected_version": INT32,
                "title": optional_texts,
                "description": optional_texts,
                "status": optional_texts,
                "assignee_id": _optional(_id_or_clear(v)),
                "sprint_id": _optional(_id_or_clear(v)),
                "position": _optional(INT32),
                "priority": optional_texts,
                "story_points": _optional(INT32),
                "parent_id": _optional(_id_or_clear(v)),
                "update_parent": st.booleans(),
            },
        ).map(_parent_with_its_flag),
        "CreateSprintRequest": lambda: _message(
            pb.CreateSprintRequest,
            {
                "project_id": v.ids,
                "name": texts,
                "goal": optional_texts,
                "start_date": v.times,
                "end_date": v.times,
            },
        ),
        "UpdateSprintRequest": lambda: _message(
            pb.UpdateSprintRequest,
            {
                "sprint_id": v.ids,
                "expected_version": INT32,
                "name": optional_texts,
                "goal": optional_texts,
                "start_date": _optional(v.times),
                "end_date": _optional(v.times),
                "status": _optional(v.sprint_statuses),
            },
        ),
        "CreateProjectRequest": lambda: _message(
            pb.CreateProjectRequest, {"key": texts, "title": texts, "description": optional_texts}
        ),
        "UpdateProjectRequest": lambda: _message(
            pb.UpdateProjectRequest,
            {
                "project_id": v.ids,
                "expected_version": INT32,
                "title": optional_texts,
                "description": optional_texts,
                "status": _optional(v.project_statuses),
            },
        ),
        "WorkItemCreated": lambda: _message(
            pb.WorkItemCreated, {"work_item": _wire_work_item(v), "user_id": v.ids}
        ),
        "WorkItemUpdated": lambda: _message(
            pb.WorkItemUpdated, {"work_item": _wire_work_item(v), "changes": changes, "user_id": v.ids}
        ),
        "WorkItemDeleted": lambda: _message(pb.WorkItemDeleted, {"work_item_id": v.ids, "user_id": v.ids}),
        "SprintCreated": lambda: _message(pb.SprintCreated, {"sprint": _wire_sprint(v), "user_id": v.ids}),
        "SprintUpdated": lambda: _message(
            pb.SprintUpdated, {"sprint": _wire_sprint(v), "changes": changes, "user_id": v.ids}
        ),
        "SprintDeleted": lambda: _message(pb.SprintDeleted, {"sprint_id": v.ids, "user_id": v.ids}),
        "ProjectCreated": lambda: _message(
            pb.ProjectCreated, {"project": _wire_project(v), "user_id": v.ids}
        ),
        "ProjectUpdated": lambda: _message(
            pb.ProjectUpdated, {"project": _wire_project(v), "changes": changes, "user_id": v.ids}
        ),
        "ProjectDeleted": lambda: _message(pb.ProjectDeleted, {"project_id": v.ids, "user_id": v.ids}),
    }
    return builders[name]()  # type: ignore[no-any-return]
