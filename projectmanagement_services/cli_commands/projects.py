"""``pm projects``: list, create, update and delete projects from the shell.

pm-server checks no permission on projects and lists every live project, ordered by title. A
project has a ``--title`` and a ``--key`` (2-20 of A-Z, a-z, 0-9 and _; the server stores it upper
case). Update and delete are optimistic like every write: without ``--version`` the current
version is read first.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
from uuid import UUID

from projectmanagement_core.models import CreateProjectRequest, ProjectStatus, UpdateProjectRequest
from projectmanagement_core.validation import validate_request
from projectmanagement_services.cli_commands.arguments import project_status_argument, uuid_argument
from projectmanagement_services.cli_commands.command_helpers import (
    Subparsers,
    add_group,
    require_changes,
    show,
)
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, EXIT_USAGE, CliError
from projectmanagement_services.cli_commands.global_options import add_client_parser
from projectmanagement_services.cli_commands.output import Output, project_table
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["add_project_commands"]


async def _current_version(client: ResilientWebSocketClient, project_id: UUID) -> int:
    for project in await client.list_projects():
        if project.id == project_id:
            return project.version
    raise CliError(f"project {project_id} not found", EXIT_FAILED)


def _projects_list(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        projects = await container.client().list_projects()
        return show(output, projects, lambda: project_table(projects))

    return call


def _projects_create(args: argparse.Namespace, output: Output) -> ClientCall:
    request = CreateProjectRequest(key=args.key, title=args.title, description=args.description)
    validate_request(request)

    async def call(container: PmContainer) -> int:
        project = await container.client().create_project(request)
        return show(output, project, lambda: f"created project {project.key} {project.id}")

    return call


def _projects_update(args: argparse.Namespace, output: Output) -> ClientCall:
    status: ProjectStatus | None = args.status
    request = UpdateProjectRequest(
        project_id=args.id,
        expected_version=args.version,
        title=args.title,
        description=args.description,
        status=status,
    )
    require_changes(request.changed_fields(), "--title, --description, --status")
    validate_request(request)

    async def call(container: PmContainer) -> int:
        client = container.client()
        version = request.expected_version
        if version is None:
            version = await _current_version(client, request.project_id)
        project = await client.update_project(request.model_copy(update={"expected_version": version}))
        return show(
            output, project, lambda: f"updated project {project.key} {project.id} (version {project.version})"
        )

    return call


def _projects_delete(args: argparse.Namespace, output: Output) -> ClientCall:
    if args.version is not None and args.version < 1:
        raise CliError(f"--version must be >= 1 (got {args.version})", EXIT_USAGE)

    async def call(container: PmContainer) -> int:
        client = container.client()
        version: int = args.version if args.version is not None else await _current_version(client, args.id)
        await client.delete_project(args.id, version)
        return show(output, {"deleted": str(args.id)}, lambda: f"deleted project {args.id}")

    return call


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        type=int,
        help="expected version (optimistic concurrency); default: read the current one first",
    )


def add_project_commands(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "projects", "list, create, update and delete projects")
    parser = add_client_parser(
        actions,
        "list",
        help="list every live project, by title",
        description="Example: pm projects list --json",
    )
    parser.set_defaults(handler=client_handler(_projects_list))

    parser = add_client_parser(
        actions,
        "create",
        help="create a project (you become its admin)",
        description='Example: pm projects create --key PM --title "Project management"',
    )
    parser.add_argument("--key", required=True, help="2-20 of A-Z, a-z, 0-9, _ (stored upper case), e.g. PM")
    parser.add_argument("--title", required=True, help="1-200 characters")
    parser.add_argument("--description", help="free text")
    parser.set_defaults(handler=client_handler(_projects_create))

    parser = add_client_parser(
        actions,
        "update",
        help="change the title, description or status of a project",
        description="Example: pm projects update PROJECT_ID --status archived",
    )
    parser.add_argument("id", type=uuid_argument, metavar="ID", help="the project's id (pm projects list)")
    parser.add_argument("--title", help="1-200 characters")
    parser.add_argument("--description", help="free text")
    parser.add_argument("--status", type=project_status_argument, help="Active or Archived")
    _version_option(parser)
    parser.set_defaults(handler=client_handler(_projects_update))

    parser = add_client_parser(
        actions,
        "delete",
        help="delete a project without work items (soft delete)",
        description="Example: pm projects delete PROJECT_ID",
    )
    parser.add_argument("id", type=uuid_argument, metavar="ID", help="the project's id (pm projects list)")
    _version_option(parser)
    parser.set_defaults(handler=client_handler(_projects_delete))
