"""Project requests, as pm-server's ``handlers/project.rs``.

pm-server checks no membership or role for project requests (anyone may update or delete any project)
and broadcasts nothing about them; the creator becomes the project's admin. Keys are 2-20 of
``[A-Za-z0-9_]``, stored upper case; a key in use by a live project is VALIDATION_ERROR on ``key``, and
one used by a deleted project runs into the table's UNIQUE constraint (DATABASE_ERROR). A delete checks
``expected_version`` and is DELETE_BLOCKED while the project has live work items.
"""

from __future__ import annotations

from typing import Final

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.checks import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    parse_uuid,
    require_int32,
    require_project_key,
    require_string,
    sanitize,
)
from projectmanagement_services.testing.handler_context import HandlerContext
from projectmanagement_services.testing.rejection import (
    conflict,
    delete_blocked,
    invalid_message,
    not_found,
    validation_error,
)

__all__ = ["create_project", "delete_project", "list_projects", "update_project"]

_STATUS_NAMES: Final[dict[int, str]] = {
    pb.PROJECT_STATUS_ACTIVE: "active",
    pb.PROJECT_STATUS_ARCHIVED: "archived",
}


def create_project(ctx: HandlerContext, r: pb.CreateProjectRequest) -> None:
    require_string(r.title, "title", 1, TITLE_MAX)
    if r.HasField("description") and len(r.description) > DESCRIPTION_MAX:
        raise invalid_message(f"description exceeds maximum length ({DESCRIPTION_MAX} characters)")
    require_project_key(r.key)
    ctx.check_replay()
    key = r.key.upper()
    if ctx.store.live_project_with_key(key) is not None:
        raise validation_error(f"Project key '{key}' already exists", "key")
    project = pb.Project(
        id=ctx.new_id(),
        title=sanitize(r.title),
        key=key,
        status=pb.PROJECT_STATUS_ACTIVE,
        version=1,
        created_at=ctx.timestamp,
        updated_at=ctx.timestamp,
        created_by=ctx.user_id,
        updated_by=ctx.user_id,
        next_work_item_number=1,
    )
    if r.HasField("description"):
        project.description = sanitize(r.description)
    ctx.store.insert_project(project)
    ctx.store.add_member(project.id, ctx.user_id, "admin")
    answer = ctx.answer()
    answer.project_created.project.CopyFrom(project)
    answer.project_created.user_id = ctx.user_id


def update_project(ctx: HandlerContext, r: pb.UpdateProjectRequest) -> None:
    project = _live_project(ctx, r.project_id)
    if project.version != r.expected_version:
        raise conflict(project.version)
    if r.HasField("title"):
        require_string(r.title, "title", 1, TITLE_MAX)
    if r.HasField("description") and len(r.description) > DESCRIPTION_MAX:
        raise validation_error(
            f"description exceeds maximum length ({DESCRIPTION_MAX} characters)", "description"
        )
    changes: list[pb.FieldChange] = []
    if r.HasField("title") and r.title != project.title:
        changes.append(pb.FieldChange(field_name="title", old_value=project.title, new_value=r.title))
        project.title = sanitize(r.title)
    if r.HasField("description"):
        current = project.description if project.HasField("description") else ""
        if current != r.description:
            change = pb.FieldChange(field_name="description", new_value=r.description)
            if project.HasField("description"):  # unlike a work item's, absent (not "") when unset
                change.old_value = project.description
            changes.append(change)
            project.description = sanitize(r.description)
    if r.HasField("status"):
        if r.status not in _STATUS_NAMES:
            raise validation_error(f"Invalid status value: {r.status}", "status")
        if r.status != project.status:
            changes.append(
                pb.FieldChange(
                    field_name="status",
                    old_value=_STATUS_NAMES[project.status],
                    new_value=_STATUS_NAMES[r.status],
                )
            )
            project.status = r.status
    if changes:
        project.updated_at = ctx.timestamp
        project.updated_by = ctx.user_id
        project.version = require_int32(project.version + 1, "expected_version", "Project version exhausted")
        ctx.store.save_project(project)
    answer = ctx.answer()
    answer.project_updated.project.CopyFrom(project)
    answer.project_updated.changes.extend(changes)
    answer.project_updated.user_id = ctx.user_id


def delete_project(ctx: HandlerContext, r: pb.DeleteProjectRequest) -> None:
    project = _live_project(ctx, r.project_id)
    if project.version != r.expected_version:
        raise conflict(project.version)
    items = ctx.store.live_item_count(project.id)
    if items:
        raise delete_blocked(f"Cannot delete project: has {items} work item(s). Delete or move them first.")
    project.deleted_at = ctx.timestamp  # only deleted_at changes, as ProjectRepository::delete
    ctx.store.save_project(project)
    answer = ctx.answer()
    answer.project_deleted.project_id = project.id
    answer.project_deleted.user_id = ctx.user_id


def list_projects(ctx: HandlerContext, r: pb.ListProjectsRequest) -> None:
    """Every live project, whoever asks, by title."""
    ctx.answer().project_list.projects.extend(ctx.store.projects())


def _live_project(ctx: HandlerContext, raw_id: str) -> pb.Project:
    project_id = parse_uuid(raw_id, "project_id", "Invalid project_id format")
    project = ctx.store.project(project_id)
    if project is None:
        raise not_found(f"Project {project_id} not found")
    return project
