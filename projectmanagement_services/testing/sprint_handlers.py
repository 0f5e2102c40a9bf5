"""Sprint requests, as pm-server's ``handlers/sprint.rs``.

The status machine is planned -> active | cancelled, active -> completed | cancelled (staying put is
allowed); anything else is VALIDATION_ERROR on ``status``. A second active sprint in a project and any
update of a completed sprint are CONFLICT carrying the sprint's *current* version, so a CONFLICT is not
always a stale version. Create checks the dates (start before end, within a year back and five years
ahead); an update checks neither. A sprint's ActivityLogCreated also reaches its ``sprint_ids``
subscribers.
"""

from __future__ import annotations

from typing import Final

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.checks import (
    SPRINT_NAME_MAX,
    parse_uuid,
    require_int32,
    require_readable_date,
    require_sprint_dates,
    require_string,
    sanitize,
)
from projectmanagement_services.testing.handler_context import HandlerContext, Permission, render_timestamp
from projectmanagement_services.testing.rejection import conflict, delete_blocked, not_found, validation_error

__all__ = ["create_sprint", "delete_sprint", "get_sprints", "sprint_status_name", "update_sprint"]

_STATUS_NAMES: Final[dict[int, str]] = {
    pb.PLANNED: "planned",
    pb.ACTIVE: "active",
    pb.COMPLETED: "completed",
    pb.CANCELLED: "cancelled",
}
_TRANSITIONS: Final[set[tuple[int, int]]] = {
    (pb.PLANNED, pb.ACTIVE),
    (pb.PLANNED, pb.CANCELLED),
    (pb.ACTIVE, pb.COMPLETED),
    (pb.ACTIVE, pb.CANCELLED),
}


def sprint_status_name(status: int) -> str:
    """How pm-server writes a sprint status in FieldChanges and texts (lower case)."""
    return _STATUS_NAMES[status]


def create_sprint(ctx: HandlerContext, r: pb.CreateSprintRequest) -> None:
    require_string(r.name, "name", 1, SPRINT_NAME_MAX)
    require_sprint_dates(r.start_date, r.end_date, ctx.timestamp)
    ctx.check_replay()
    project_id = parse_uuid(r.project_id, "project_id")
    ctx.require(project_id, Permission.EDIT)
    sprint = pb.Sprint(
        id=ctx.new_id(),
        project_id=project_id,
        name=sanitize(r.name),
        start_date=r.start_date,
        end_date=r.end_date,
        status=pb.PLANNED,
        version=1,
        created_at=ctx.timestamp,
        updated_at=ctx.timestamp,
        created_by=ctx.user_id,
        updated_by=ctx.user_id,
    )
    if r.HasField("goal"):
        sprint.goal = sanitize(r.goal)  # goals have no length limit in pm-server
    ctx.store.insert_sprint(sprint)
    answer = ctx.answer()
    answer.sprint_created.sprint.CopyFrom(sprint)
    answer.sprint_created.user_id = ctx.user_id
    entry = ctx.activity("sprint", sprint.id, "created")
    ctx.broadcast(project_id, entry, ctx.event_like_answer(), sprint_id=sprint.id)


def update_sprint(ctx: HandlerContext, r: pb.UpdateSprintRequest) -> None:
    sprint_id = parse_uuid(r.sprint_id, "sprint_id")
    sprint = ctx.store.sprint(sprint_id)
    if sprint is None:
        raise not_found(f"Sprint {sprint_id} not found")
    ctx.require(sprint.project_id, Permission.EDIT)
    if sprint.version != r.expected_version:
        raise conflict(sprint.version)
    if sprint.status == pb.COMPLETED:
        raise conflict(sprint.version)
    changes: list[pb.FieldChange] = []

    def track(name: str, old: str | None, new: str) -> None:
        if old != new:
            change = pb.FieldChange(field_name=name, new_value=new)
            if old is not None:
                change.old_value = old
            changes.append(change)

    if r.HasField("name"):
        require_string(r.name, "name", 1, SPRINT_NAME_MAX)
        track("name", sprint.name, r.name)
        sprint.name = sanitize(r.name)
    if r.HasField("goal"):
        track("goal", sprint.goal if sprint.HasField("goal") else None, r.goal)
        sprint.goal = sanitize(r.goal)
    if r.HasField("start_date"):
        track("start_date", _date(sprint.start_date, "start_date"), _date(r.start_date, "start_date"))
        sprint.start_date = r.start_date
    if r.HasField("end_date"):
        track("end_date", _date(sprint.end_date, "end_date"), _date(r.end_date, "end_date"))
        sprint.end_date = r.end_date
    if r.HasField("status"):
        if r.status not in _STATUS_NAMES:
            raise validation_error(f"Invalid sprint status: {r.status}", "status")
        _check_transition(ctx, sprint, r.status)
        track("status", sprint_status_name(sprint.status), sprint_status_name(r.status))
        sprint.status = r.status
    if changes:
        sprint.updated_at = ctx.timestamp
        sprint.updated_by = ctx.user_id
        sprint.version = require_int32(sprint.version + 1, "expected_version", "Sprint version exhausted")
        ctx.store.save_sprint(sprint)
    answer = ctx.answer()
    answer.sprint_updated.sprint.CopyFrom(sprint)
    answer.sprint_updated.changes.extend(changes)
    answer.sprint_updated.user_id = ctx.user_id
    if changes:
        entry = ctx.activity("sprint", sprint.id, "updated", changes)
        ctx.broadcast(sprint.project_id, entry, ctx.event_like_answer(), sprint_id=sprint.id)


def delete_sprint(ctx: HandlerContext, r: pb.DeleteSprintRequest) -> None:
    sprint_id = parse_uuid(r.sprint_id, "sprint_id")
    sprint = ctx.store.sprint(sprint_id)
    if sprint is None:
        raise not_found(f"Sprint {sprint_id} not found")
    ctx.require(sprint.project_id, Permission.ADMIN)
    if sprint.status == pb.COMPLETED:
        raise delete_blocked("Cannot delete completed sprint")
    sprint.deleted_at = ctx.timestamp  # only deleted_at changes, as SprintRepository::delete
    ctx.store.save_sprint(sprint)
    answer = ctx.answer()
    answer.sprint_deleted.sprint_id = sprint_id
    answer.sprint_deleted.user_id = ctx.user_id
    entry = ctx.activity("sprint", sprint_id, "deleted")
    ctx.broadcast(sprint.project_id, entry, ctx.event_like_answer(), sprint_id=sprint_id)


def get_sprints(ctx: HandlerContext, r: pb.GetSprintsRequest) -> None:
    """The project's live sprints, newest start first."""
    project_id = parse_uuid(r.project_id, "project_id")
    ctx.require(project_id, Permission.VIEW)
    ctx.answer().sprints_list.sprints.extend(ctx.store.sprints(project_id))


def _date(seconds: int, field: str) -> str:
    """A date as pm-server renders it in a FieldChange (RFC 3339, UTC); unreadable ones are refused."""
    suffix = "" if field == "start_date" else " timestamp"
    require_readable_date(seconds, field, f"Invalid {field}{suffix}")
    rendered = render_timestamp(seconds)
    assert rendered is not None  # years 1-9999 are inside chrono's range
    return rendered


def _check_transition(ctx: HandlerContext, sprint: pb.Sprint, new_status: int) -> None:
    if sprint.status != new_status and (sprint.status, new_status) not in _TRANSITIONS:
        raise validation_error(
            f"Invalid status transition: {sprint_status_name(sprint.status)} -> {sprint_status_name(new_status)}",
            "status",
        )
    if (
        new_status == pb.ACTIVE
        and sprint.status != pb.ACTIVE
        and ctx.store.has_active_sprint(sprint.project_id)
    ):
        raise conflict(sprint.version)
