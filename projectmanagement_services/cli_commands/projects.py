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
from projectmanagement_services.cli_commands.command_helpers import (
    require_changes,
    show,
)
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, EXIT_USAGE, CliError
from projectmanagement_services.cli_commands.output import Output, project_table
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["create_project", "delete_project", "list_projects", "update_project"]


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


#: The handlers of ``pm projects ...`` (parsers: ``entity_parsers``).
list_projects = client_handler(_projects_list)
create_project = client_handler(_projects_create)
update_project = client_handler(_projects_update)
delete_project = client_handler(_projects_delete)
