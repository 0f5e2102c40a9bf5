"""Work item requests, as pm-server's ``handlers/work_item.rs``, ``query.rs`` and ``change_tracker.rs``.

The order of the checks is pm-server's, so the same error wins when several apply. Its surprises are
kept on purpose (see the README's "pm-server quirks"): an update is a no-op unless title, description,
status, assignee, position or parent changes, whatever else it carries (and then its other fields are
not even validated); a create's status and priority are not validated, so the table's CHECK turns a
bad one (or 'blocked') into DATABASE_ERROR, as the foreign keys do for an unknown sprint or assignee;
a parent in another project is accepted.
"""

from __future__ import annotations

from typing import Final

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing.checks import (
    DESCRIPTION_MAX,
    INT32_MAX,
    PRIORITIES,
    STORY_POINTS_MAX,
    TITLE_MAX,
    WORK_ITEM_STATUSES,
    parse_uuid,
    require_int32,
    require_string,
    sanitize,
)
from projectmanagement_services.testing.handler_context import HandlerContext, Permission
from projectmanagement_services.testing.rejection import (
    conflict,
    database_error,
    delete_blocked,
    invalid_message,
    not_found,
    validation_error,
)

__all__ = ["create_work_item", "delete_work_item", "get_work_items", "update_work_item"]

#: Rust's ``{:?}`` of pm-core's WorkItemType, for hierarchy error texts.
_TYPE_NAMES: Final[dict[int, str]] = {pb.EPIC: "Epic", pb.STORY: "Story", pb.TASK: "Task"}
#: hierarchy_validator.rs: the only (parent, child) pairs allowed.
_ALLOWED_PARENTS: Final[set[tuple[int, int]]] = {(pb.EPIC, pb.STORY), (pb.STORY, pb.TASK)}
_MAX_DEPTH: Final = 100


def create_work_item(ctx: HandlerContext, r: pb.CreateWorkItemRequest) -> None:
    if r.item_type not in _TYPE_NAMES:
        raise validation_error(f"Invalid item_type: {r.item_type}", "item_type")
    require_string(r.title, "title", 1, TITLE_MAX)
    if r.HasField("description") and len(r.description) > DESCRIPTION_MAX:
        raise invalid_message(f"description exceeds maximum length ({DESCRIPTION_MAX} characters)")
    ctx.check_replay()
    project_id = parse_uuid(r.project_id, "project_id")
    parent_id = parse_uuid(r.parent_id, "parent_id") if r.HasField("parent_id") and r.parent_id else None
    ctx.require(project_id, Permission.EDIT)
    if parent_id is not None:
        _validate_hierarchy(ctx, r.item_type, parent_id)
    position = require_int32(
        ctx.store.max_position(project_id, parent_id) + 1,
        "position",
        f"No position left under this parent: one already holds the largest ({INT32_MAX})",
    )
    item = pb.WorkItem(
        id=ctx.new_id(),
        item_type=r.item_type,
        project_id=project_id,
        position=position,
        title=sanitize(r.title),
        # Not validated on create (only on update): the table's CHECK has the last word.
        status=r.status if r.HasField("status") else "backlog",
        priority=r.priority if r.HasField("priority") else "medium",
        version=1,
        created_at=ctx.timestamp,
        updated_at=ctx.timestamp,
        created_by=ctx.user_id,
        updated_by=ctx.user_id,
    )
    if parent_id is not None:
        item.parent_id = parent_id
    if r.HasField("description"):
        item.description = sanitize(r.description)
    number = ctx.store.take_work_item_number(project_id)
    if number is None:  # a deleted project whose members remain
        raise database_error(
            f"Database initialization failed: Project {project_id} not found when incrementing work item counter"
        )
    # The project's next number (an int32 of Project too) must stay sendable after this one.
    require_int32(number + 1, "item_number", "Work item numbers of this project are exhausted")
    item.item_number = number
    ctx.store.insert_work_item(item)
    ctx.store.with_hierarchy(item)
    answer = ctx.answer()
    answer.work_item_created.work_item.CopyFrom(item)
    answer.work_item_created.user_id = ctx.user_id
    ctx.broadcast(project_id, ctx.activity("work_item", item.id, "created"), ctx.event_like_answer())


def update_work_item(ctx: HandlerContext, r: pb.UpdateWorkItemRequest) -> None:
    item_id = parse_uuid(r.work_item_id, "work_item_id")
    item = ctx.store.work_item(item_id)
    if item is None:
        raise not_found(f"Work item {item_id} not found")
    ctx.require(item.project_id, Permission.EDIT)
    if item.version != r.expected_version:
        raise conflict(item.version)
    if r.update_parent and r.HasField("parent_id") and r.parent_id:
        parent_id = parse_uuid(r.parent_id, "parent_id")
        if parent_id == item.id:
            raise validation_error(f"Work item {item.id} cannot be its own parent", "parent_id")
        _validate_hierarchy(ctx, item.item_type, parent_id)
        _check_circular(ctx, item.id, parent_id)
    changes = _track_changes(item, r)
    if changes:
        _apply_updates(item, r)
        item.updated_at = ctx.timestamp
        item.updated_by = ctx.user_id
        item.version = require_int32(item.version + 1, "expected_version", "Work item version exhausted")
        ctx.store.save_work_item(item)
    ctx.store.with_hierarchy(item)
    answer = ctx.answer()
    answer.work_item_updated.work_item.CopyFrom(item)
    answer.work_item_updated.changes.extend(changes)
    answer.work_item_updated.user_id = ctx.user_id
    if changes:
        entry = ctx.activity("work_item", item.id, "updated", changes)
        ctx.broadcast(item.project_id, entry, ctx.event_like_answer())


def delete_work_item(ctx: HandlerContext, r: pb.DeleteWorkItemRequest) -> None:
    item_id = parse_uuid(r.work_item_id, "work_item_id")
    item = ctx.store.work_item(item_id)
    if item is None:
        raise not_found(f"Work item {item_id} not found")
    ctx.require(item.project_id, Permission.ADMIN)
    children = ctx.store.live_children(item_id)
    if children:
        raise delete_blocked(f"Cannot delete: has {children} child item(s). Delete children first.")
    # soft_delete: deleted_at, updated_at and updated_by change; the version does not.
    item.deleted_at = item.updated_at = ctx.timestamp
    item.updated_by = ctx.user_id
    ctx.store.save_work_item(item)
    answer = ctx.answer()
    answer.work_item_deleted.work_item_id = item_id
    answer.work_item_deleted.user_id = ctx.user_id
    ctx.broadcast(item.project_id, ctx.activity("work_item", item_id, "deleted"), ctx.event_like_answer())


def get_work_items(ctx: HandlerContext, r: pb.GetWorkItemsRequest) -> None:
    """The project's live items by position; ``since_timestamp`` is ignored, as pm-server does."""
    project_id = parse_uuid(r.project_id, "project_id", f"Invalid project_id: {r.project_id}")
    ctx.require(project_id, Permission.VIEW)
    answer = ctx.answer()
    answer.work_items_list.work_items.extend(ctx.store.work_items(project_id))
    answer.work_items_list.as_of_timestamp = ctx.timestamp


def _validate_hierarchy(ctx: HandlerContext, child_type: int, parent_id: str) -> None:
    parent = ctx.store.work_item(parent_id)
    if parent is None:
        raise validation_error("Parent work item not found", "parent_id")
    if (parent.item_type, child_type) not in _ALLOWED_PARENTS:
        raise validation_error(
            f"Invalid hierarchy: {_TYPE_NAMES[child_type]} cannot be a child of "
            f"{_TYPE_NAMES.get(parent.item_type, str(parent.item_type))}",
            "parent_id",
        )


def _check_circular(ctx: HandlerContext, item_id: str, parent_id: str) -> None:
    current: str | None = parent_id
    depth = 0
    while current is not None:
        if depth > _MAX_DEPTH:
            raise validation_error(
                f"Hierarchy too deep: work item {parent_id} has parent chain exceeding {depth} levels. "
                f"Max depth is {_MAX_DEPTH}. This may indicate corrupted data or a cycle.",
                "parent_id",
            )
        if current == item_id:
            raise validation_error(
                f"Cannot set parent {parent_id} for work item {item_id}: would create circular reference. "
                f"Work item {parent_id} is a descendant of work item {item_id}, so {parent_id} cannot be "
                "its parent.",
                "parent_id",
            )
        found = ctx.store.work_item(current)
        current = found.parent_id if found is not None and found.HasField("parent_id") else None
        depth += 1


def _track_changes(item: pb.WorkItem, r: pb.UpdateWorkItemRequest) -> list[pb.FieldChange]:
    """``track_changes``: only these six fields count, compared with the request's raw text."""
    changes: list[pb.FieldChange] = []

    def changed(name: str, old: str | None, new: str | None) -> None:
        change = pb.FieldChange(field_name=name)
        if old is not None:
            change.old_value = old
        if new is not None:
            change.new_value = new
        changes.append(change)

    if r.HasField("title") and r.title != item.title:
        changed("title", item.title, r.title)
    if r.HasField("description"):
        current = item.description if item.HasField("description") else ""
        if current != r.description:
            changed("description", current, r.description)
    if r.HasField("status") and r.status != item.status:
        changed("status", item.status, r.status)
    if r.HasField("assignee_id"):
        current = item.assignee_id if item.HasField("assignee_id") else ""
        if current != r.assignee_id:
            changed("assignee_id", current, r.assignee_id)
    if r.HasField("position") and r.position != item.position:
        changed("position", str(item.position), str(r.position))
    if r.update_parent:
        current = item.parent_id if item.HasField("parent_id") else ""
        new = r.parent_id if r.HasField("parent_id") else ""
        if current != new:
            changed("parent_id", current or None, new or None)
    return changes


def _apply_updates(item: pb.WorkItem, r: pb.UpdateWorkItemRequest) -> None:
    """``apply_updates``: every field of the request, validated only now that something changed."""
    if r.HasField("title"):
        require_string(r.title, "title", 1, TITLE_MAX)
        item.title = sanitize(r.title)
    if r.HasField("description"):
        if len(r.description) > DESCRIPTION_MAX:
            raise validation_error(f"Description exceeds {DESCRIPTION_MAX} characters", "description")
        item.description = sanitize(r.description)
    if r.HasField("status"):
        if r.status not in WORK_ITEM_STATUSES:
            valid = ", ".join(WORK_ITEM_STATUSES)
            raise validation_error(f"Invalid status: {r.status}. Valid: {valid}", "status")
        item.status = r.status
    if r.HasField("priority"):
        if r.priority not in PRIORITIES:
            raise validation_error(
                f"Invalid priority: {r.priority}. Valid: {', '.join(PRIORITIES)}", "priority"
            )
        item.priority = r.priority
    if r.HasField("assignee_id"):
        _set_id(item, "assignee_id", r.assignee_id)
    if r.HasField("sprint_id"):
        _set_id(item, "sprint_id", r.sprint_id)
    if r.HasField("position"):
        if r.position < 0:
            raise validation_error("Position must be non-negative", "position")
        item.position = r.position
    if r.HasField("story_points"):
        if not 0 <= r.story_points <= STORY_POINTS_MAX:
            raise validation_error(f"Story points must be 0-{STORY_POINTS_MAX}", "story_points")
        item.story_points = r.story_points
    if r.update_parent:
        _set_id(item, "parent_id", r.parent_id if r.HasField("parent_id") else "")


def _set_id(item: pb.WorkItem, name: str, value: str) -> None:
    """An empty id clears the field; any other is parsed and stored canonically."""
    if value:
        setattr(item, name, parse_uuid(value, name))
    else:
        item.ClearField(name)  # type: ignore[arg-type]
