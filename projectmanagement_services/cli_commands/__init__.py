"""The ``pm`` subcommands that talk to a server, and what they share (options, output, errors).

``projectmanagement_services.cli`` is the entry module; it registers the commands defined here.
"""

from projectmanagement_services.cli_commands.config_command import add_config_command
from projectmanagement_services.cli_commands.demo_command import add_demo_command
from projectmanagement_services.cli_commands.entities import add_item_commands
from projectmanagement_services.cli_commands.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
)
from projectmanagement_services.cli_commands.global_options import add_global_options, settings_from_args
from projectmanagement_services.cli_commands.health import add_health_command
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.projects import add_project_commands
from projectmanagement_services.cli_commands.sprints import add_sprint_commands
from projectmanagement_services.cli_commands.watch import add_watch_command

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
    "add_sprint_commands",
    "add_watch_command",
    "settings_from_args",
]
