"""The ``pm`` subcommands that talk to a server, and what they share (options, output, errors).

``projectmanagement_services.cli`` is the entry module; it registers the parsers built in
``entity_parsers`` and ``tool_parsers``, whose handlers live in one module a command (``projects``,
``entities``, ``sprints``, ``config_command``, ``demo_command``, ``watch``, ``health``) and are
imported when the command runs. The re-exports here are lazy (PEP 562) for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services.cli_commands.command_settings import settings_from_args
    from projectmanagement_services.cli_commands.entity_parsers import (
        add_item_commands,
        add_project_commands,
        add_sprint_commands,
    )
    from projectmanagement_services.cli_commands.errors import (
        EXIT_FAILED,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_UNREACHABLE,
        EXIT_USAGE,
        CliError,
    )
    from projectmanagement_services.cli_commands.global_options import add_global_options
    from projectmanagement_services.cli_commands.output import Output
    from projectmanagement_services.cli_commands.tool_parsers import (
        add_config_command,
        add_demo_command,
        add_health_command,
        add_serve_command,
        add_watch_command,
    )

_ERRORS = "projectmanagement_services.cli_commands.errors"
_ENTITIES = "projectmanagement_services.cli_commands.entity_parsers"
_TOOLS = "projectmanagement_services.cli_commands.tool_parsers"
#: Exported name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "EXIT_FAILED": _ERRORS,
    "EXIT_INTERRUPTED": _ERRORS,
    "EXIT_OK": _ERRORS,
    "EXIT_UNREACHABLE": _ERRORS,
    "EXIT_USAGE": _ERRORS,
    "CliError": _ERRORS,
    "Output": "projectmanagement_services.cli_commands.output",
    "add_config_command": _TOOLS,
    "add_demo_command": _TOOLS,
    "add_global_options": "projectmanagement_services.cli_commands.global_options",
    "add_health_command": _TOOLS,
    "add_serve_command": _TOOLS,
    "add_item_commands": _ENTITIES,
    "add_project_commands": _ENTITIES,
    "add_sprint_commands": _ENTITIES,
    "add_watch_command": _TOOLS,
    "settings_from_args": "projectmanagement_services.cli_commands.command_settings",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "CliError",
    "Output",
    "add_config_command",
    "add_demo_command",
    "add_global_options",
    "add_health_command",
    "add_item_commands",
    "add_project_commands",
    "add_serve_command",
    "add_sprint_commands",
    "add_watch_command",
    "settings_from_args",
]
