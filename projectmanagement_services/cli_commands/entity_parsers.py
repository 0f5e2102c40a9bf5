"""The parsers of ``pm projects``, ``pm items`` and ``pm sprints``, from plain data.

Building them imports no model or client: enum options take words from ``vocabulary``, and each
parser's ``handler`` is ``deferred``, so ``projects``, ``entities`` or ``sprints`` (and pydantic,
the container, rich) are imported only when that command runs.
"""

from __future__ import annotations

import argparse

from projectmanagement_services.cli_commands.addressing import (
    clearable_item_ref_argument,
    item_ref_argument,
)
from projectmanagement_services.cli_commands.arguments import (
    CLEAR_WORD,
    clearable_uuid_argument,
    date_argument,
    project_status_argument,
    sprint_status_argument,
    uuid_argument,
    work_item_type_argument,
)
from projectmanagement_services.cli_commands.command_helpers import Subparsers, add_group
from projectmanagement_services.cli_commands.deferred import deferred
from projectmanagement_services.cli_commands.entity_options import (
    add_project_option,
    add_version_options,
    example,
)
from projectmanagement_services.cli_commands.global_options import add_client_parser

__all__ = ["add_item_commands", "add_project_commands", "add_sprint_commands"]


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        type=int,
        help="expected version (optimistic concurrency); default: read the current one first",
    )


def add_project_commands(subparsers: Subparsers) -> None:
    """Register ``pm projects list|create|update|delete`` (handlers: ``projects``)."""
    actions = add_group(subparsers, "projects", "list, create, update and delete projects")
    parser = add_client_parser(
        actions,
        "list",
        help="list every live project, by title",
        description="Example: pm projects list --json",
    )
    parser.set_defaults(handler=deferred("projects", "list_projects"))

    parser = add_client_parser(
        actions,
        "create",
        help="create a project (you become its admin)",
        description='Example: pm projects create --key PM --title "Project management"',
    )
    parser.add_argument("--key", required=True, help="2-20 of A-Z, a-z, 0-9, _ (stored upper case), e.g. PM")
    parser.add_argument("--title", required=True, help="1-200 characters")
    parser.add_argument("--description", help="free text")
    parser.set_defaults(handler=deferred("projects", "create_project"))

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
    parser.set_defaults(handler=deferred("projects", "update_project"))

    parser = add_client_parser(
        actions,
        "delete",
        help="delete a project without work items (soft delete)",
        description="Example: pm projects delete PROJECT_ID",
    )
    parser.add_argument("id", type=uuid_argument, metavar="ID", help="the project's id (pm projects list)")
    _version_option(parser)
    parser.set_defaults(handler=deferred("projects", "delete_project"))


def _item_fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description", help="free text (markdown as pm-server stores it)")
    parser.add_argument(
        "--status",
        type=str.lower,
        help="backlog, todo, in_progress, review or done, any case (pm-server cannot store blocked)",
    )
    parser.add_argument("--priority", type=str.lower, help="low, medium, high or critical, any case")


def add_item_commands(subparsers: Subparsers) -> None:
    """Register ``pm items list|show|create|update|delete`` (handlers: ``entities``)."""
    actions = add_group(subparsers, "items", "list, show, create, update and delete work items")
    parser = add_client_parser(
        actions,
        "list",
        help="list a project's work items",
        description=example("pm items list --project PM"),
    )
    add_project_option(parser)
    parser.set_defaults(handler=deferred("entities", "list_items"))

    parser = add_client_parser(
        actions, "show", help="show one work item", description=example("pm items show PM-4")
    )
    parser.add_argument("id", type=item_ref_argument, metavar="ITEM", help="its id, or KEY-NUMBER (PM-4)")
    add_project_option(parser, required=False, help="where to look (default: every project)")
    parser.set_defaults(handler=deferred("entities", "show_item"))

    parser = add_client_parser(
        actions,
        "create",
        help="create a work item",
        description=example('pm items create --project PM --title "Fix login" --type Story'),
    )
    add_project_option(parser)
    parser.add_argument("--title", required=True, help="1-200 characters")
    parser.add_argument(
        "--type",
        type=work_item_type_argument,
        default="Task",
        help="Epic, Story or Task, any case",
    )
    parser.add_argument("--parent", type=item_ref_argument, metavar="ITEM", help="parent item: id or PM-3")
    _item_fields(parser)
    parser.set_defaults(handler=deferred("entities", "create_item"))

    parser = add_client_parser(
        actions,
        "update",
        help="change fields of a work item",
        description=example("pm items update PM-4 --status in_progress --assignee none"),
    )
    parser.add_argument("id", type=item_ref_argument, metavar="ITEM", help="its id, or KEY-NUMBER (PM-4)")
    parser.add_argument("--title", help="1-200 characters")
    _item_fields(parser)
    clears = f"; '{CLEAR_WORD}' clears it"
    parser.add_argument("--assignee", type=clearable_uuid_argument, metavar="USER_ID", help="assign" + clears)
    parser.add_argument(
        "--sprint", type=clearable_uuid_argument, metavar="SPRINT_ID", help="plan into a sprint" + clears
    )
    parser.add_argument(
        "--parent",
        type=clearable_item_ref_argument,
        metavar="ITEM",
        help="move under a parent (id or PM-3)" + clears,
    )
    parser.add_argument("--points", type=int, help="story points, 0-100")
    parser.add_argument("--position", type=int, help="order among its siblings, from 0")
    add_version_options(parser)
    parser.set_defaults(handler=deferred("entities", "update_item"))

    parser = add_client_parser(
        actions,
        "delete",
        help="delete a work item (soft delete)",
        description=example("pm items delete PM-4"),
    )
    parser.add_argument("id", type=item_ref_argument, metavar="ITEM", help="its id, or KEY-NUMBER (PM-4)")
    parser.set_defaults(handler=deferred("entities", "delete_item"))


def add_sprint_commands(subparsers: Subparsers) -> None:
    """Register ``pm sprints list|create|update|delete`` (handlers: ``sprints``)."""
    actions = add_group(subparsers, "sprints", "list, create, update and delete sprints")
    parser = add_client_parser(
        actions, "list", help="list a project's sprints", description=example("pm sprints list --project PM")
    )
    add_project_option(parser)
    parser.set_defaults(handler=deferred("sprints", "list_sprints"))

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
    parser.set_defaults(handler=deferred("sprints", "create_sprint"))

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
    parser.set_defaults(handler=deferred("sprints", "update_sprint"))

    parser = add_client_parser(
        actions,
        "delete",
        help="delete a sprint (soft delete; pm-server refuses a completed one)",
        description=example("pm sprints delete SPRINT_ID"),
    )
    parser.add_argument(
        "id", type=uuid_argument, metavar="SPRINT_ID", help="the sprint's id (pm sprints list)"
    )
    parser.set_defaults(handler=deferred("sprints", "delete_sprint"))
