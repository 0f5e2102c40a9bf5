"""The reference server's request semantics: what each request does to the store and what it answers.

Pure with respect to the network: :meth:`RequestHandler.handle` takes a decoded request and the
caller's identity and returns an :class:`Outcome` (the answer frame and the broadcast frames); the
server decides when and to whom they are sent. Each request runs synchronously in one SQLite
transaction, so it is atomic and never interleaves with another.

Choices where protocol.md leaves room (all **ref** behaviour):
- Rule order: field checks, then existence (NOT_FOUND), membership (UNAUTHORIZED), version (CONFLICT),
  then state rules (DELETE_BLOCKED). A deleted entity is NOT_FOUND.
- Roles: ``viewer`` may read only; ``member`` and ``admin`` may change work items and sprints; only
  ``admin`` (a project's creator) may update or delete the project.
- Hierarchy: a parent must rank strictly above its child (Epic > Story > Task), be live and be in the
  same project. ``UpdateWorkItemRequest.parent_id`` is applied only when ``update_parent`` is true
  (then an absent or empty ``parent_id`` makes the item top-level).
- An empty ``assignee_id`` or ``sprint_id`` in an update clears it.
- Sprint dates are checked (start < end) on create only, as pm-server.
- Creates need a non-empty ``message_id`` (it is their idempotency key); a successful create's answer
  is stored under it forever, failed creates are not stored, so a retry can still succeed.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from projectmanagement_core.models import WORK_ITEM_PRIORITIES, WORK_ITEM_STATUSES
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.checks import (
    DESCRIPTION_MAX,
    INVALID_MESSAGE,
    PROJECT_KEY,
    PROJECT_NAME_MAX,
    SPRINT_NAME_MAX,
    STORY_POINTS_MAX,
    TITLE_MAX,
    VALIDATION_ERROR,
    require_dates_ordered,
    require_length,
    require_one_of,
    require_range,
    require_uuid,
)
from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.rejection import RequestRejected
from projectmanagement_services.testing.store import SqliteStore

__all__ = ["CREATE_REQUESTS", "ENTITY_REQUESTS", "Outcome", "RequestHandler", "error_envelope"]

#: The payloads :meth:`RequestHandler.handle` understands: every ``*_request`` of the envelope's payload
#: oneof (ping and (un)subscribe are about the connection, which the server handles itself). Read from the
#: proto so it cannot drift from the wire contract; a new ``*_request`` there needs its ``_<name>`` method.
ENTITY_REQUESTS: Final = frozenset(
    field.name
    for field in pb.WebSocketMessage.DESCRIPTOR.oneofs_by_name["payload"].fields
    if field.name.endswith("_request")
)
#: Creates are de-duplicated by message_id; nothing else is.
CREATE_REQUESTS: Final = frozenset(name for name in ENTITY_REQUESTS if name.startswith("create_"))

_RANK: Final[dict[int, int]] = {pb.EPIC: 3, pb.STORY: 2, pb.TASK: 1}
_WRITE_ROLES: Final = frozenset({"admin", "member"})
_Id = Callable[[], str]


class _Stored(Protocol):
    """The bookkeeping fields that WorkItem, Sprint and Project share, so one helper can version them."""

    id: str
    version: int
    created_at: int
    created_by: str
    updated_at: int
    updated_by: str
    deleted_at: int


_E = TypeVar("_E", bound=_Stored)


@dataclass(frozen=True)
class _Kind(Generic[_E]):
    """What differs between work items, sprints and projects once a change is decided.

    Attributes:
        name: The activity entries' ``entity_type``; it also names the entity's payloads, as the proto
            does: ``{name}_created`` and ``{name}_updated`` hold the entity in field ``{name}``,
            ``{name}_deleted`` holds ``{name}_id``.
        save: Writes a changed entity back to the store.
        project_of: The project whose subscribers hear about the entity.
    """

    name: str
    save: Callable[[SqliteStore, _E], None]
    project_of: Callable[[_E], str]


_WORK_ITEM: Final = _Kind[pb.WorkItem]("work_item", SqliteStore.save_work_item, lambda item: item.project_id)
_SPRINT: Final = _Kind[pb.Sprint]("sprint", SqliteStore.save_sprint, lambda sprint: sprint.project_id)
_PROJECT: Final = _Kind[pb.Project]("project", SqliteStore.save_project, lambda project: project.id)


@dataclass(frozen=True)
class Outcome:
    """What one request produced.

    Attributes:
        answer: The serialized answer envelope for the requester.
        broadcasts: ``(project_id, frame)`` pairs, in sending order, for the project's subscribers.
        replayed: True when the answer came from the idempotency store.
    """

    answer: bytes
    broadcasts: tuple[tuple[str, bytes], ...] = ()
    replayed: bool = False


def error_envelope(
    message_id: str, timestamp: int, code: str, message: str, field: str | None = None
) -> bytes:
    """A serialized ``Error`` answer."""
    envelope = pb.WebSocketMessage(message_id=message_id, timestamp=timestamp)
    envelope.error.code = code
    envelope.error.message = message
    if field is not None:
        envelope.error.field = field
    return envelope.SerializeToString()


@dataclass
class _Reply:
    """Collects the answer and broadcasts while a request runs."""

    message_id: str
    timestamp: int
    new_id: _Id
    answer: pb.WebSocketMessage = field(default_factory=pb.WebSocketMessage)
    broadcasts: list[tuple[str, bytes]] = field(default_factory=list)

    def envelope(self, message_id: str) -> pb.WebSocketMessage:
        return pb.WebSocketMessage(message_id=message_id, timestamp=self.timestamp)

    def answer_envelope(self) -> pb.WebSocketMessage:
        self.answer = self.envelope(self.message_id)
        return self.answer

    def broadcast(self, project_id: str, entry: pb.ActivityLogEntry, event: pb.WebSocketMessage) -> None:
        """Queue ActivityLogCreated, then the entity event, for the project's subscribers."""
        activity = self.envelope(self.new_id())
        activity.activity_log_created.entry.CopyFrom(entry)
        self.broadcasts.append((project_id, activity.SerializeToString()))
        self.broadcasts.append((project_id, event.SerializeToString()))


class RequestHandler:
    """Applies entity requests (work items, sprints, projects) to a :class:`SqliteStore`.

    Args:
        store: Where entities live.
        counters: Incremented for applied creates and served replays.
        now: Wall-clock Unix seconds, for timestamps (injected so tests can pin time).
        new_id: Fresh UUID strings for new entities, broadcasts and activity entries.
    """

    def __init__(
        self,
        store: SqliteStore,
        counters: ServerCounters,
        now: Callable[[], float] = time.time,
        new_id: _Id = lambda: str(uuid.uuid4()),
    ) -> None:
        self._store = store
        self._counters = counters
        self._now = now
        self._new_id = new_id

    def handle(self, user_id: str, request: pb.WebSocketMessage) -> Outcome:
        """Run one request; every failure becomes an ``Error`` answer, never an exception."""
        kind = request.WhichOneof("payload")
        timestamp = int(self._now())
        if kind not in ENTITY_REQUESTS:
            raise ValueError(f"not an entity request: {kind}")
        if kind in CREATE_REQUESTS and request.message_id:
            stored = self._store.stored_answer(request.message_id)
            if stored is not None:
                self._counters.replays_served += 1
                return Outcome(stored, replayed=True)
        reply = _Reply(request.message_id, timestamp, self._new_id)
        try:
            if kind in CREATE_REQUESTS and not request.message_id:
                raise RequestRejected(INVALID_MESSAGE, "a create needs a message_id (its idempotency key)")
            with self._store.transaction():
                getattr(self, f"_{kind}")(user_id, getattr(request, kind), reply)
                answer = reply.answer.SerializeToString()
                if kind in CREATE_REQUESTS:
                    self._store.store_answer(request.message_id, answer)
        except RequestRejected as exc:
            return Outcome(error_envelope(request.message_id, timestamp, exc.code, exc.message, exc.field))
        except sqlite3.Error as exc:
            return Outcome(error_envelope(request.message_id, timestamp, "DATABASE_ERROR", str(exc)))
        if kind in CREATE_REQUESTS:
            self._counters.creates_applied += 1
        return Outcome(answer, tuple(reply.broadcasts))

    # ------------------------------------------------------------------ shared rules

    def _entry(
        self, entity_type: str, entity_id: str, action: str, user_id: str, changes: Sequence[pb.FieldChange]
    ) -> pb.ActivityLogEntry:
        entry = pb.ActivityLogEntry(
            id=self._new_id(),
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            user_id=user_id,
            timestamp=int(self._now()),
        )
        if len(changes) == 1:
            entry.field_name = changes[0].field_name
            if changes[0].HasField("old_value"):
                entry.old_value = changes[0].old_value
            if changes[0].HasField("new_value"):
                entry.new_value = changes[0].new_value
        return entry

    def _live_project(self, project_id: str) -> pb.Project:
        require_uuid("project_id", project_id)
        project = self._store.project(project_id)
        if project is None or project.HasField("deleted_at"):
            raise RequestRejected("NOT_FOUND", f"project {project_id} not found")
        return project

    def _require_role(self, project_id: str, user_id: str, allowed: frozenset[str] | None) -> None:
        """Membership check; ``allowed`` None means any member (a read)."""
        role = self._store.member_role(project_id, user_id)
        if role is None:
            raise RequestRejected("UNAUTHORIZED", f"user {user_id} is not a member of project {project_id}")
        if allowed is not None and role not in allowed:
            raise RequestRejected("UNAUTHORIZED", f"role {role!r} may not change project {project_id}")

    @staticmethod
    def _require_version(kind: str, entity_id: str, current: int, expected: int) -> None:
        if current != expected:
            raise RequestRejected(
                "CONFLICT",
                f"{kind} {entity_id} was modified: expected version {expected}, current version: {current}",
            )

    def _answer_created(self, kind: _Kind[_E], entity: _E, user_id: str, reply: _Reply) -> None:
        """Answer ``{kind}_created`` with the new entity."""
        payload = getattr(reply.answer_envelope(), f"{kind.name}_created")
        getattr(payload, kind.name).CopyFrom(entity)
        payload.user_id = user_id

    def _finish_create(self, kind: _Kind[_E], entity: _E, user_id: str, reply: _Reply) -> None:
        """Answer ``{kind}_created`` and broadcast it to the entity's project."""
        self._answer_created(kind, entity, user_id, reply)
        self._broadcast_answer(kind, entity, "created", user_id, reply)

    def _finish_update(
        self, kind: _Kind[_E], entity: _E, changes: list[pb.FieldChange], user_id: str, reply: _Reply
    ) -> None:
        """Save ``entity`` as a new version, answer ``{kind}_updated``, and broadcast it.

        An update that changes nothing is still answered, but is neither a new version nor news.
        """
        if changes:
            self._new_version(kind, entity, user_id, reply)
        payload = getattr(reply.answer_envelope(), f"{kind.name}_updated")
        getattr(payload, kind.name).CopyFrom(entity)
        payload.changes.extend(changes)
        payload.user_id = user_id
        if changes:
            self._broadcast_answer(kind, entity, "updated", user_id, reply, changes)

    def _finish_delete(self, kind: _Kind[_E], entity: _E, user_id: str, reply: _Reply) -> None:
        """Soft-delete ``entity`` (a new version with ``deleted_at``), answer and broadcast it."""
        entity.deleted_at = reply.timestamp
        self._new_version(kind, entity, user_id, reply)
        payload = getattr(reply.answer_envelope(), f"{kind.name}_deleted")
        setattr(payload, f"{kind.name}_id", entity.id)
        payload.user_id = user_id
        self._broadcast_answer(kind, entity, "deleted", user_id, reply)

    def _new_version(self, kind: _Kind[_E], entity: _E, user_id: str, reply: _Reply) -> None:
        entity.version += 1
        entity.updated_at = reply.timestamp
        entity.updated_by = user_id
        kind.save(self._store, entity)

    def _broadcast_answer(
        self,
        kind: _Kind[_E],
        entity: _E,
        action: str,
        user_id: str,
        reply: _Reply,
        changes: Sequence[pb.FieldChange] = (),
    ) -> None:
        """Send the answer's payload, under a fresh message id, to the entity's project as an event."""
        event = pb.WebSocketMessage()
        event.CopyFrom(reply.answer)
        event.message_id = self._new_id()
        entry = self._entry(kind.name, entity.id, action, user_id, changes)
        reply.broadcast(kind.project_of(entity), entry, event)

    def _parent(
        self, item_type: int, project_id: str, parent_id: str | None, item_id: str | None
    ) -> str | None:
        """Checks ``parent_id`` against the hierarchy rules and returns it."""
        if parent_id is None:
            return None
        if item_type == pb.EPIC:
            raise RequestRejected(VALIDATION_ERROR, "an epic has no parent", "parent_id")
        require_uuid("parent_id", parent_id)
        if parent_id == item_id:
            raise RequestRejected(VALIDATION_ERROR, "an item cannot be its own parent", "parent_id")
        parent = self._store.work_item(parent_id)
        if parent is None or parent.HasField("deleted_at") or parent.project_id != project_id:
            raise RequestRejected(
                VALIDATION_ERROR, f"parent {parent_id} not found in the project", "parent_id"
            )
        if _RANK.get(parent.item_type, 0) <= _RANK.get(item_type, 0):
            raise RequestRejected(
                VALIDATION_ERROR,
                f"a {_type_name(item_type)} cannot be a child of a {_type_name(parent.item_type)}",
                "parent_id",
            )
        return parent_id

    # ------------------------------------------------------------------ work items

    def _create_work_item_request(self, user_id: str, r: pb.CreateWorkItemRequest, reply: _Reply) -> None:
        require_uuid("project_id", r.project_id)
        if r.item_type not in _RANK:
            raise RequestRejected(VALIDATION_ERROR, f"unknown item_type {r.item_type}", "item_type")
        require_length("title", r.title, 1, TITLE_MAX)
        if r.HasField("description"):
            require_length("description", r.description, 0, DESCRIPTION_MAX)
        if r.HasField("status"):
            require_one_of("status", r.status, WORK_ITEM_STATUSES)
        if r.HasField("priority"):
            require_one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
        if r.HasField("parent_id") and r.item_type == pb.EPIC:
            raise RequestRejected(VALIDATION_ERROR, "an epic has no parent", "parent_id")
        if r.HasField("parent_id"):
            require_uuid("parent_id", r.parent_id)
        self._live_project(r.project_id)
        self._require_role(r.project_id, user_id, _WRITE_ROLES)
        parent_id = self._parent(
            r.item_type, r.project_id, r.parent_id if r.HasField("parent_id") else None, None
        )
        item = pb.WorkItem(
            id=self._new_id(),
            item_type=r.item_type,
            project_id=r.project_id,
            position=self._store.next_position(r.project_id, parent_id),
            title=r.title,
            status=r.status if r.HasField("status") else "backlog",
            priority=r.priority if r.HasField("priority") else "medium",
            item_number=self._store.next_item_number(r.project_id),
        )
        _first_version(item, user_id, reply.timestamp)
        if parent_id is not None:
            item.parent_id = parent_id
        if r.HasField("description"):
            item.description = r.description
        self._store.insert_work_item(item)
        self._store.with_hierarchy(item)
        self._finish_create(_WORK_ITEM, item, user_id, reply)

    def _update_work_item_request(self, user_id: str, r: pb.UpdateWorkItemRequest, reply: _Reply) -> None:
        require_uuid("work_item_id", r.work_item_id)
        if r.HasField("title"):
            require_length("title", r.title, 1, TITLE_MAX)
        if r.HasField("description"):
            require_length("description", r.description, 0, DESCRIPTION_MAX)
        if r.HasField("status"):
            require_one_of("status", r.status, WORK_ITEM_STATUSES)
        if r.HasField("priority"):
            require_one_of("priority", r.priority, WORK_ITEM_PRIORITIES)
        if r.HasField("story_points"):
            require_range("story_points", r.story_points, 0, STORY_POINTS_MAX)
        if r.HasField("position"):
            require_range("position", r.position, 0)
        for name in ("assignee_id", "sprint_id"):
            if _has(r, name) and getattr(r, name):
                require_uuid(name, getattr(r, name))
        if r.update_parent and r.parent_id:
            require_uuid("parent_id", r.parent_id)
        item = self._store.work_item(r.work_item_id)
        if item is None or item.HasField("deleted_at"):
            raise RequestRejected("NOT_FOUND", f"work item {r.work_item_id} not found")
        self._require_role(item.project_id, user_id, _WRITE_ROLES)
        self._require_version("work item", item.id, item.version, r.expected_version)

        changes: list[pb.FieldChange] = []
        for name in ("title", "description", "status", "priority", "story_points", "position"):
            if _has(r, name):
                _change(item, name, getattr(r, name), changes)
        for name in ("assignee_id", "sprint_id"):
            if _has(r, name):
                value = getattr(r, name) or None
                if name == "sprint_id" and value is not None:
                    sprint = self._store.sprint(value)
                    if (
                        sprint is None
                        or sprint.HasField("deleted_at")
                        or sprint.project_id != item.project_id
                    ):
                        raise RequestRejected(
                            VALIDATION_ERROR, f"sprint {value} not found in the project", name
                        )
                _change(item, name, value, changes)
        if r.update_parent:
            parent_id = self._parent(item.item_type, item.project_id, r.parent_id or None, item.id)
            _change(item, "parent_id", parent_id, changes)
        self._store.with_hierarchy(item)
        self._finish_update(_WORK_ITEM, item, changes, user_id, reply)

    def _delete_work_item_request(self, user_id: str, r: pb.DeleteWorkItemRequest, reply: _Reply) -> None:
        require_uuid("work_item_id", r.work_item_id)
        item = self._store.work_item(r.work_item_id)
        if item is None or item.HasField("deleted_at"):
            raise RequestRejected("NOT_FOUND", f"work item {r.work_item_id} not found")
        self._require_role(item.project_id, user_id, _WRITE_ROLES)
        if self._store.has_live_children(item.id):
            raise RequestRejected("DELETE_BLOCKED", f"work item {item.id} has children; delete them first")
        self._finish_delete(_WORK_ITEM, item, user_id, reply)

    def _get_work_items_request(self, user_id: str, r: pb.GetWorkItemsRequest, reply: _Reply) -> None:
        # since_timestamp is ignored, as pm-server: the answer is always the full live list.
        self._live_project(r.project_id)
        self._require_role(r.project_id, user_id, None)
        answer = reply.answer_envelope()
        answer.work_items_list.work_items.extend(self._store.work_items(r.project_id))
        answer.work_items_list.as_of_timestamp = reply.timestamp

    # ------------------------------------------------------------------ sprints

    def _create_sprint_request(self, user_id: str, r: pb.CreateSprintRequest, reply: _Reply) -> None:
        require_uuid("project_id", r.project_id)
        require_length("name", r.name, 1, SPRINT_NAME_MAX)
        if r.HasField("goal"):
            require_length("goal", r.goal, 0, DESCRIPTION_MAX)
        require_dates_ordered(r.start_date, r.end_date)
        self._live_project(r.project_id)
        self._require_role(r.project_id, user_id, _WRITE_ROLES)
        sprint = pb.Sprint(
            id=self._new_id(),
            project_id=r.project_id,
            name=r.name,
            start_date=r.start_date,
            end_date=r.end_date,
            status=pb.PLANNED,
        )
        _first_version(sprint, user_id, reply.timestamp)
        if r.HasField("goal"):
            sprint.goal = r.goal
        self._store.insert_sprint(sprint)
        self._finish_create(_SPRINT, sprint, user_id, reply)

    def _update_sprint_request(self, user_id: str, r: pb.UpdateSprintRequest, reply: _Reply) -> None:
        require_uuid("sprint_id", r.sprint_id)
        if r.HasField("name"):
            require_length("name", r.name, 1, SPRINT_NAME_MAX)
        if r.HasField("goal"):
            require_length("goal", r.goal, 0, DESCRIPTION_MAX)
        if r.HasField("status") and r.status not in (pb.PLANNED, pb.ACTIVE, pb.COMPLETED, pb.CANCELLED):
            raise RequestRejected(VALIDATION_ERROR, f"unknown sprint status {r.status}", "status")
        sprint = self._store.sprint(r.sprint_id)
        if sprint is None or sprint.HasField("deleted_at"):
            raise RequestRejected("NOT_FOUND", f"sprint {r.sprint_id} not found")
        self._require_role(sprint.project_id, user_id, _WRITE_ROLES)
        self._require_version("sprint", sprint.id, sprint.version, r.expected_version)
        changes: list[pb.FieldChange] = []
        for name in ("name", "goal", "start_date", "end_date"):
            if _has(r, name):
                _change(sprint, name, getattr(r, name), changes)
        if r.HasField("status"):
            _change(sprint, "status", r.status, changes, render=_sprint_status_name)
        self._finish_update(_SPRINT, sprint, changes, user_id, reply)

    def _delete_sprint_request(self, user_id: str, r: pb.DeleteSprintRequest, reply: _Reply) -> None:
        require_uuid("sprint_id", r.sprint_id)
        sprint = self._store.sprint(r.sprint_id)
        if sprint is None or sprint.HasField("deleted_at"):
            raise RequestRejected("NOT_FOUND", f"sprint {r.sprint_id} not found")
        self._require_role(sprint.project_id, user_id, _WRITE_ROLES)
        if sprint.status == pb.COMPLETED:
            raise RequestRejected("DELETE_BLOCKED", f"sprint {sprint.id} is completed and cannot be deleted")
        self._finish_delete(_SPRINT, sprint, user_id, reply)

    def _get_sprints_request(self, user_id: str, r: pb.GetSprintsRequest, reply: _Reply) -> None:
        self._live_project(r.project_id)
        self._require_role(r.project_id, user_id, None)
        reply.answer_envelope().sprints_list.sprints.extend(self._store.sprints(r.project_id))

    # ------------------------------------------------------------------ projects

    def _create_project_request(self, user_id: str, r: pb.CreateProjectRequest, reply: _Reply) -> None:
        if not PROJECT_KEY.fullmatch(r.key):
            raise RequestRejected(
                VALIDATION_ERROR, f"key must match [A-Z][A-Z0-9]{{0,9}} (got {r.key!r})", "key"
            )
        require_length("title", r.title, 1, PROJECT_NAME_MAX)
        if r.HasField("description"):
            require_length("description", r.description, 0, DESCRIPTION_MAX)
        if self._store.project_key_in_use(r.key):
            raise RequestRejected(VALIDATION_ERROR, f"key {r.key} is already in use", "key")
        project = pb.Project(
            id=self._new_id(),
            key=r.key,
            title=r.title,
            status=pb.PROJECT_STATUS_ACTIVE,
        )
        _first_version(project, user_id, reply.timestamp)
        if r.HasField("description"):
            project.description = r.description
        self._store.insert_project(project)
        self._store.add_member(project.id, user_id, "admin")
        # Not broadcast: a project that did not exist has no subscribers to tell.
        self._answer_created(_PROJECT, project, user_id, reply)

    def _update_project_request(self, user_id: str, r: pb.UpdateProjectRequest, reply: _Reply) -> None:
        if r.HasField("title"):
            require_length("title", r.title, 1, PROJECT_NAME_MAX)
        if r.HasField("description"):
            require_length("description", r.description, 0, DESCRIPTION_MAX)
        if r.HasField("status") and r.status not in (pb.PROJECT_STATUS_ACTIVE, pb.PROJECT_STATUS_ARCHIVED):
            raise RequestRejected(VALIDATION_ERROR, f"unknown project status {r.status}", "status")
        project = self._live_project(r.project_id)
        self._require_role(project.id, user_id, frozenset({"admin"}))
        self._require_version("project", project.id, project.version, r.expected_version)
        changes: list[pb.FieldChange] = []
        for name in ("title", "description"):
            if _has(r, name):
                _change(project, name, getattr(r, name), changes)
        if r.HasField("status"):
            _change(project, "status", r.status, changes, render=_project_status_name)
        self._finish_update(_PROJECT, project, changes, user_id, reply)

    def _delete_project_request(self, user_id: str, r: pb.DeleteProjectRequest, reply: _Reply) -> None:
        project = self._live_project(r.project_id)
        self._require_role(project.id, user_id, frozenset({"admin"}))
        self._finish_delete(_PROJECT, project, user_id, reply)

    def _list_projects_request(self, user_id: str, r: pb.ListProjectsRequest, reply: _Reply) -> None:
        reply.answer_envelope().project_list.projects.extend(self._store.projects_of(user_id))


def _first_version(entity: _Stored, user_id: str, timestamp: int) -> None:
    """Stamp a new entity as version 1, created and last updated by ``user_id`` at ``timestamp``."""
    entity.version = 1
    entity.created_at = entity.updated_at = timestamp
    entity.created_by = entity.updated_by = user_id


def _has(message: Message, name: str) -> bool:
    """``HasField`` for a field chosen at run time (the typed stubs accept literals only)."""
    return message.HasField(name)


def _type_name(item_type: int) -> str:
    return pb.WorkItemType.Name(pb.WorkItemType.ValueType(item_type))


def _sprint_status_name(status: int) -> str:
    return pb.SprintStatus.Name(pb.SprintStatus.ValueType(status))


def _project_status_name(status: int) -> str:
    return pb.ProjectStatus.Name(pb.ProjectStatus.ValueType(status))


def _change(
    entity: Message,
    name: str,
    value: str | int | None,
    changes: list[pb.FieldChange],
    render: Callable[[int], str] = str,
) -> None:
    """Set ``entity.name`` to ``value`` (None clears it) and record a FieldChange if it differs."""
    has_presence = entity.DESCRIPTOR.fields_by_name[name].has_presence
    old: str | int | None = getattr(entity, name) if not has_presence or _has(entity, name) else None
    if old == value:
        return
    change = pb.FieldChange(field_name=name)
    if old is not None:
        change.old_value = render(old) if isinstance(old, int) else old
    if value is None:
        entity.ClearField(name)
    else:
        setattr(entity, name, value)
        change.new_value = render(value) if isinstance(value, int) else value
    changes.append(change)
