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
from projectmanagement_services.cli_commands.arguments import (
    date_argument,
    sprint_status_argument,
    uuid_argument,
)
from projectmanagement_services.cli_commands.command_helpers import (
    Subparsers,
    add_group,
    require_changes,
    show,
)
from projectmanagement_services.cli_commands.entity_options import (
    add_project_option,
    add_version_options,
    current_version,
    example,
)
from projectmanagement_services.cli_commands.global_options import add_client_parser
from projectmanagement_services.cli_commands.output import (
    Output,
    sprint_table,
)
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["add_sprint_commands"]


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


def add_sprint_commands(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "sprints", "list, create, update and delete sprints")
    parser = add_client_parser(
        actions, "list", help="list a project's sprints", description=example("pm sprints list --project PM")
    )
    add_project_option(parser)
    parser.set_defaults(handler=client_handler(_sprints_list))

    parser = add_client_parser(
        actions,
        "create",
        help="create a sprint",
        description=example("pm sprints create --project PM --name S1 --start 2025-01-06 --end 2025-01-20"),
    )
    add_project_option(parser)
    parser.add_argument("--name", required=True, help="1-100 characters")
    parser.add_argument("--start", required=True, type=date_argument, help="e.g. 2025-01-06 (UTC)")
    parser.add_argument("--end", required=True, type=date_argument, help="after --start")
    parser.add_argument("--goal", help="what the sprint is for")
    parser.set_defaults(handler=client_handler(_sprints_create))

    parser = add_client_parser(
        actions,
        "update",
        help="change fields of a sprint (or start/complete it)",
        description=example("pm sprints update SPRINT_ID --status active"),
    )
    parser.add_argument(
        "id", type=uuid_argument, metavar="SPRINT_ID", help="the sprint's id (pm sprints list)"
    )
    parser.add_argument("--name", help="1-100 characters")
    parser.add_argument("--goal", help="what the sprint is for")
    parser.add_argument("--start", type=date_argument, help="e.g. 2025-01-06 (UTC)")
    parser.add_argument("--end", type=date_argument, help="after --start")
    parser.add_argument(
        "--status", type=sprint_status_argument, help="Planned, Active, Completed or Cancelled, any case"
    )
    add_version_options(parser)
    parser.set_defaults(handler=client_handler(_sprints_update))

    parser = add_client_parser(
        actions,
        "delete",
        help="delete a sprint (soft delete; pm-server refuses a completed one)",
        description=example("pm sprints delete SPRINT_ID"),
    )
    parser.add_argument(
        "id", type=uuid_argument, metavar="SPRINT_ID", help="the sprint's id (pm sprints list)"
    )
    parser.set_defaults(handler=client_handler(_sprints_delete))
