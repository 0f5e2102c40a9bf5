"""The parsers of ``pm config``, ``demo``, ``watch``, ``health`` and ``serve``, from plain data.

Building them imports no model, settings or client: each parser's ``handler`` is ``deferred``, so
the command's module is imported only when the command runs (``pm --help`` stays fast).
"""

from __future__ import annotations

import argparse
from typing import Final

from projectmanagement_services.cli_commands.addressing import project_ref_argument
from projectmanagement_services.cli_commands.arguments import uuid_argument
from projectmanagement_services.cli_commands.command_helpers import Subparsers, add_group
from projectmanagement_services.cli_commands.deferred import deferred
from projectmanagement_services.cli_commands.global_options import add_client_parser
from projectmanagement_services.cli_commands.vocabulary import LOG_LEVELS, OTEL_EXPORTERS
from projectmanagement_services.testing.serve_arguments import add_connection_arguments

__all__ = [
    "DEFAULT_DURATION_S",
    "add_config_command",
    "add_demo_command",
    "add_health_command",
    "add_serve_command",
    "add_watch_command",
]

#: Long enough to see every kind of fault, short enough to watch in full within a minute of cloning.
DEFAULT_DURATION_S: Final = 20.0
#: The longest pause between health pings: a minute (anything longer is a typo, not a health check).
_MAX_INTERVAL_S: Final = 60.0


def add_config_command(subparsers: Subparsers) -> None:
    """Register ``pm config show|validate|set-user``."""
    actions = add_group(subparsers, "config", "show, check and set the client's settings")
    parser = add_client_parser(
        actions,
        "show",
        help="print the effective settings, secrets masked",
        description="Print the effective settings (secrets masked). Example: pm config show --sources",
    )
    parser.add_argument(
        "--sources", action="store_true", help="also say which file, variable or flag set each value"
    )
    parser.set_defaults(handler=deferred("config_command", "show_config"))
    parser = add_client_parser(
        actions,
        "validate",
        help="exit 0 when the settings load, 2 with every bad key otherwise",
        description="Check the settings without connecting, for CI. Example: pm config validate --environment Staging",
        json_output=False,
    )
    parser.set_defaults(handler=deferred("config_command", "validate_config"))
    parser = actions.add_parser(
        "set-user",
        help="remember the user id client commands act as (open mode)",
        description="Remember a user id for client commands without a token or --user-id. "
        "Example: pm config set-user   (a new id), or pm config set-user 5f0c...",
    )
    parser.add_argument(
        "user", nargs="?", type=uuid_argument, metavar="UUID", help="the user id (default: a new random one)"
    )
    parser.set_defaults(handler=deferred("config_command", "set_user"))


def _duration(value: str) -> float:
    seconds = float(value)
    if not 2 <= seconds <= 3600:
        raise argparse.ArgumentTypeError("must be between 2 and 3600 seconds")
    return seconds


def _workers(value: str) -> int:
    count = int(value)
    if not 1 <= count <= 200:
        raise argparse.ArgumentTypeError("must be between 1 and 200")
    return count


def add_demo_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pm demo`` (handler: ``demo_command``)."""
    parser = subparsers.add_parser(
        "demo",
        help="watch the resilient client survive a seeded storm of faults on an embedded server",
        description=(
            "Start a reference server on a free loopback port (temporary SQLite file), run 20 writers "
            "through one resilient client while a seeded fault schedule plays, keep a subscriber's store, "
            "and check that no acknowledged create was lost or duplicated and that the store equals the "
            "server. Exit 0 only when every check holds. Example: pm demo --duration 60 --seed 7"
        ),
    )
    parser.add_argument(
        "--duration",
        type=_duration,
        default=DEFAULT_DURATION_S,
        metavar="SECONDS",
        help="seconds of chaos (default: %(default)g)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="fault schedule seed: same seed, same faults (default: 1)"
    )
    parser.add_argument("--workers", type=_workers, default=20, help="concurrent writers (default: 20)")
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help="also write a PNG timeline (latency, state, faults); needs: pip install -e '.[plot]'",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,  # so that ``pm --json demo`` is not reset here
        help="print the report as JSON instead of tables",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="show the client's log"
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="appsettings file (Telemetry, Logging, limits; the demo sets its own server and timings)",
    )
    parser.add_argument(
        "--environment",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="also layer appsettings.NAME.json (default: $PM_ENVIRONMENT)",
    )
    parser.add_argument(
        "--otel",
        choices=OTEL_EXPORTERS,
        default=argparse.SUPPRESS,
        help="telemetry exporter for the demo's clients (default: the settings' Telemetry:Exporter)",
    )
    parser.set_defaults(handler=deferred("demo_command", "run_demo"))


def add_watch_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pm watch`` (handler: ``watch``)."""
    parser = add_client_parser(
        subparsers,
        "watch",
        help="print a project's changes as they happen, through reconnects (Ctrl-C stops, exit 0)",
        description="Print a project's changes as they happen, through reconnects (Ctrl-C stops, exit 0). "
        "Example: pm watch --project PM",
    )
    parser.add_argument(
        "--project",
        required=True,
        type=project_ref_argument,
        metavar="ID|KEY",
        help="the project: its id or key",
    )
    parser.set_defaults(handler=deferred("watch", "watch_project"))


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not 0 <= number <= _MAX_INTERVAL_S:  # also refuses nan and inf (a wait that never ends)
        raise argparse.ArgumentTypeError(f"must be between 0 and {_MAX_INTERVAL_S:g} seconds")
    return number


def add_health_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pm health`` (handler: ``health``)."""
    parser = add_client_parser(
        subparsers,
        "health",
        help="ping the server and print round-trip statistics and quality",
        description="Ping the server and print round-trip statistics and quality. "
        "Example: pm health --count 20 --interval 0.1 --server-url ws://127.0.0.1:8000/ws",
    )
    parser.add_argument(
        "--count", type=_positive_int, default=10, help="pings to send (default: %(default)s)"
    )
    parser.add_argument(
        "--interval",
        type=_non_negative_float,
        default=0.2,
        help="seconds between pings (default: %(default)s)",
    )
    parser.set_defaults(handler=deferred("health", "check_health"))


def add_serve_command(subparsers: Subparsers) -> None:
    """Register ``pm serve`` (the reference server; handler: ``serve_command``)."""
    parser = subparsers.add_parser(
        "serve",
        help="run the reference pm-ws server",
        description="Run the reference pm-ws server (SQLite-backed) until Ctrl-C or SIGTERM. "
        "Example: pm serve --port 8000 --database pm.db",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8000, help="port; 0 lets the OS choose (default: %(default)s)"
    )
    parser.add_argument(
        "--database", default=":memory:", help="SQLite file, or :memory: (default: %(default)s)"
    )
    parser.add_argument(
        "--token", default=None, help="require 'Authorization: Bearer TOKEN' (default: open mode)"
    )
    parser.add_argument(
        "--rate-limit-burst",
        type=int,
        default=100,
        metavar="N",
        help="frames a connection may send at once, as pm-server's max_requests (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit-period",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="then one more frame per this many seconds, as pm-server's window_secs (default: %(default)s)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="do not rate-limit (pm-server always does)"
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="debug logs one line per connection and per request (default: %(default)s)",
    )
    add_connection_arguments(parser)
    parser.set_defaults(handler=deferred("serve_command", "run_serve"))
