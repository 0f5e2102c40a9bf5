"""``pm items``: list, show, create, update and delete work items from the shell (sprints: ``sprints.py``).

Each request is built and validated before connecting (``ValidationException`` lists every broken
field and nothing is sent). Writes go through the resilient client, so a dropped connection or a
lost answer is retried with the same message_id and never creates twice.

An update without ``--version`` reads the entity's current version first: convenient at a prompt,
but it overwrites a change made in between; scripts that care pass ``--version``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from projectmanagement_core.models import (
    CreateWorkItemRequest,
    UpdateWorkItemRequest,
)
from projectmanagement_core.validation import validate_request
from projectmanagement_services.cli_commands.addressing import (
    PLANNED,
    ItemNumber,
    planned,
    resolve_item,
    resolve_project,
)
from projectmanagement_services.cli_commands.command_helpers import (
    require_changes,
    show,
)
from projectmanagement_services.cli_commands.entity_options import (
    current_version,
)
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, CliError
from projectmanagement_services.cli_commands.output import (
    Output,
    work_item_table,
)
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["create_item", "delete_item", "list_items", "show_item", "update_item"]


# -- work items ----------------------------------------------------------------------------------


def _items_list(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        items = await client.get_work_items(await resolve_project(client, args.project))
        live = sorted((i for i in items if not i.is_deleted), key=lambda i: (i.position, i.item_number))
        return show(output, live, lambda: work_item_table(live))

    return call


def _items_create(args: argparse.Namespace, output: Output) -> ClientCall:
    request = CreateWorkItemRequest(
        project_id=planned(args.project),
        item_type=args.type,
        title=args.title,
        description=args.description,
        parent_id=planned(args.parent),
        status=args.status,
        priority=args.priority,
    )
    validate_request(request)

    async def call(container: PmContainer) -> int:
        client = container.client()
        resolved = {"project_id": await resolve_project(client, args.project)}
        if args.parent is not None:
            resolved["parent_id"] = await resolve_item(client, args.parent)
        item = await client.create_work_item(request.model_copy(update=resolved))
        return show(output, item, lambda: f"created {item.item_type.value} #{item.item_number} {item.id}")

    return call


def _items_update(args: argparse.Namespace, output: Output) -> ClientCall:
    request = UpdateWorkItemRequest(
        work_item_id=planned(args.id),
        expected_version=args.version,
        title=args.title,
        description=args.description,
        status=args.status,
        priority=args.priority,
        assignee_id=args.assignee,
        sprint_id=args.sprint,
        parent_id=args.parent if not isinstance(args.parent, ItemNumber) else PLANNED,
        story_points=args.points,
        position=args.position,
    )
    require_changes(
        request.changed_fields(),
        "--title, --description, --status, --priority, --assignee, --sprint, --parent, --points, --position",
    )
    validate_request(request)

    async def call(container: PmContainer) -> int:
        client = container.client()
        item_id = await resolve_item(client, args.id)
        resolved: dict[str, object] = {"work_item_id": item_id}
        if isinstance(args.parent, ItemNumber):
            resolved["parent_id"] = await resolve_item(client, args.parent)
        version = request.expected_version
        if version is None:
            project = await resolve_project(client, args.project) if args.project is not None else None
            version = await current_version(client.get_work_items, client, item_id, project, "work item")
        resolved["expected_version"] = version
        item = await client.update_work_item(request.model_copy(update=resolved))
        return show(output, item, lambda: f"updated #{item.item_number} {item.id} (version {item.version})")

    return call


def _items_delete(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        item_id = await resolve_item(client, args.id)
        await client.delete_work_item(item_id)
        return show(output, {"deleted": str(item_id)}, lambda: f"deleted {args.id}")

    return call


def _items_show(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        item_id = await resolve_item(client, args.id)
        projects = [await resolve_project(client, args.project)] if args.project is not None else None
        found = None
        for project_id in projects or [p.id for p in await client.list_projects()]:
            found = next(
                (i for i in await client.get_work_items(project_id) if i.id == item_id and not i.is_deleted),
                None,
            )
            if found is not None:
                break
        if found is None:
            raise CliError(f"work item {args.id} not found", EXIT_FAILED)
        item = found
        return show(output, item, lambda: work_item_table([item]))

    return call


#: The handlers of ``pm items ...`` (parsers: ``entity_parsers``).
list_items = client_handler(_items_list)
show_item = client_handler(_items_show)
create_item = client_handler(_items_create)
update_item = client_handler(_items_update)
delete_item = client_handler(_items_delete)
