"""``pm sprints``: list, create, update and delete sprints from the shell (see ``entities`` for items)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from projectmanagement_core.models import (
    CreateSprintRequest,
    UpdateSprintRequest,
)
from projectmanagement_core.validation import validate_request
from projectmanagement_services.cli_commands.addressing import (
    planned,
    resolve_project,
)
from projectmanagement_services.cli_commands.command_helpers import (
    require_changes,
    show,
)
from projectmanagement_services.cli_commands.entity_options import (
    current_version,
)
from projectmanagement_services.cli_commands.output import (
    Output,
    sprint_table,
)
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["create_sprint", "delete_sprint", "list_sprints", "update_sprint"]


def _sprints_list(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        sprints = await client.get_sprints(await resolve_project(client, args.project))
        live = sorted((s for s in sprints if not s.is_deleted), key=lambda s: s.start_date)
        return show(output, live, lambda: sprint_table(live))

    return call


def _sprints_create(args: argparse.Namespace, output: Output) -> ClientCall:
    request = CreateSprintRequest(
        project_id=planned(args.project),
        name=args.name,
        start_date=args.start,
        end_date=args.end,
        goal=args.goal,
    )
    validate_request(request)

    async def call(container: PmContainer) -> int:
        client = container.client()
        project_id = await resolve_project(client, args.project)
        sprint = await client.create_sprint(request.model_copy(update={"project_id": project_id}))
        return show(output, sprint, lambda: f"created sprint {sprint.name!r} {sprint.id}")

    return call


def _sprints_update(args: argparse.Namespace, output: Output) -> ClientCall:
    request = UpdateSprintRequest(
        sprint_id=args.id,
        expected_version=args.version,
        name=args.name,
        goal=args.goal,
        start_date=args.start,
        end_date=args.end,
        status=args.status,
    )
    require_changes(request.changed_fields(), "--name, --goal, --start, --end, --status")
    validate_request(request)

    async def call(container: PmContainer) -> int:
        client = container.client()
        version = request.expected_version
        if version is None:
            project = await resolve_project(client, args.project) if args.project is not None else None
            version = await current_version(client.get_sprints, client, request.sprint_id, project, "sprint")
        sprint = await client.update_sprint(request.model_copy(update={"expected_version": version}))
        return show(
            output, sprint, lambda: f"updated sprint {sprint.name!r} {sprint.id} (version {sprint.version})"
        )

    return call


def _sprints_delete(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        await container.client().delete_sprint(args.id)
        return show(output, {"deleted": str(args.id)}, lambda: f"deleted sprint {args.id}")

    return call


#: The handlers of ``pm sprints ...`` (parsers: ``entity_parsers``).
list_sprints = client_handler(_sprints_list)
create_sprint = client_handler(_sprints_create)
update_sprint = client_handler(_sprints_update)
delete_sprint = client_handler(_sprints_delete)
