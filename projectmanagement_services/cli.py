"""The ``pm`` command: one argparse subcommand per task.

Each subcommand is registered by an ``add_<name>_command(subparsers)`` function listed in
``_COMMANDS``; it sets ``handler`` (``Callable[[argparse.Namespace], int]``) on its parser. The client
commands live in ``projectmanagement_services.cli_commands``; ``pm serve`` is defined here.

Failures never show a traceback: ``main`` prints one line (``pm: ...``) on stderr and returns the exit
code: 0 success, 1 the request or a demo check failed, 2 bad command line or settings, 3 the server
could not be reached (or was lost for good), 130 interrupted by Ctrl-C (``pm watch`` and ``pm serve``
treat Ctrl-C as their normal stop and exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, cast

from projectmanagement_services._version import DISTRIBUTION as _DISTRIBUTION
from projectmanagement_services.cli_commands import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    CliError,
    Output,
    add_config_command,
    add_demo_command,
    add_global_options,
    add_health_command,
    add_item_commands,
    add_project_commands,
    add_sprint_commands,
    add_watch_command,
)

__all__ = ["build_parser", "main"]

_LOG_LEVELS = ("debug", "info", "warning", "error")
#: argparse names a ``type=`` function in its message ("invalid _positive_int value"): not for users.
_INTERNAL_TYPE_NAME = re.compile(r"invalid \w+ value: ")
#: The installed distribution whose version ``pm --version`` prints.


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``pm items create: --title is required``) plus
    where to read more, as every other ``pm`` error; subcommand parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        message = _INTERNAL_TYPE_NAME.sub("invalid value: ", message)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class _SaidByTheAnnouncement(logging.Filter):
    """Drops the serve module's start/stop lines, which ``pm serve`` prints itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("pm serve listening", "pm serve stopping"))


@contextlib.contextmanager
def _announced_once(*, quiet: bool) -> Iterator[None]:
    """Below debug, ``pm serve``'s announcement is the only "listening" line (websockets' own and
    the serve module's would say it twice more); the loggers are put back after (``main`` may run
    in a host process, as in the tests)."""
    if not quiet:
        yield
        return
    websockets_log = logging.getLogger("websockets.server")
    serve_log = logging.getLogger("projectmanagement_services.testing.serve")
    level, said = websockets_log.level, _SaidByTheAnnouncement()
    websockets_log.setLevel(logging.WARNING)
    serve_log.addFilter(said)
    try:
        yield
    finally:
        websockets_log.setLevel(level)
        serve_log.removeFilter(said)


def _run_serve(args: argparse.Namespace) -> int:
    from projectmanagement_services.testing import PmTestServer, RateLimit
    from projectmanagement_services.testing.serve import connection_options, serve

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    where = (
        "in memory (lost when it stops; --database FILE keeps it)"
        if args.database == ":memory:"
        else f"in {Path(args.database).resolve()}"
    )

    def announce(server: PmTestServer) -> None:
        # The URL last: scripts (and tests) take the line's last word.
        rate = "off" if limit is None else f"{limit.burst} then 1 per {limit.period:g} s"
        print(f"pm serve: data {where}; rate limit {rate}; listening on {server.url}", flush=True)

    if not 0 <= args.port <= _MAX_PORT:
        raise CliError(f"serve: --port must be 0-{_MAX_PORT} (got {args.port})", exit_code=2)
    try:
        options = connection_options(args)
        limit = None if args.no_rate_limit else RateLimit(args.rate_limit_burst, args.rate_limit_period)
    except (ValueError, OSError) as exc:
        raise CliError(f"serve: {exc}", exit_code=2) from exc
    try:
        with _announced_once(quiet=args.log_level != "debug"):
            asyncio.run(
                serve(
                    args.host,
                    args.port,
                    args.database,
                    args.token,
                    rate_limit=limit,
                    on_ready=announce,
                    **options,
                )
            )
    except sqlite3.Error as exc:
        raise CliError(f"serve: cannot open --database {args.database}: {exc}", exit_code=2) from exc
    except OSError as exc:
        raise CliError(_listen_error(args.host, args.port, exc), exit_code=EXIT_FAILED) from exc
    print("pm serve: stopped", flush=True)
    return 0


#: The highest TCP port; 0 asks the OS for a free one.
_MAX_PORT = 65535


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """``pm serve`` could not listen: say where, and what to do, in one line."""
    if exc.errno == errno.EADDRINUSE:
        return f"serve: {host}:{port} is already in use (choose another --port, or --port 0 for a free one)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"serve: cannot listen on {host}: no such address on this machine (--host)"
    reason = exc.strerror or str(exc)
    return f"serve: cannot listen on {host}:{port}: {reason}"


def _add_serve_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        choices=_LOG_LEVELS,
        default="info",
        help="debug logs one line per connection and per request (default: %(default)s)",
    )
    from projectmanagement_services.testing.serve import add_connection_arguments

    add_connection_arguments(parser)
    parser.set_defaults(handler=_run_serve)


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_demo_command,
    add_config_command,
    add_project_commands,
    add_item_commands,
    add_sprint_commands,
    add_watch_command,
    add_health_command,
    _add_serve_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``pm`` parser with every registered subcommand."""
    parser = _OneLineParser(
        prog="pm",
        description="pm-ws client framework tools: the resilience demo, a reference server, and a client.",
        epilog="Exit codes: 0 ok, 1 request or check failed, 2 usage or settings, 3 server unreachable, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"pm {_version()}")
    parser.add_argument(
        "--json", action="store_true", help="print JSON for scripts (before or after the command)"
    )
    add_global_options(parser, suppress=False)
    # Typed as plain parsers: the commands only use ArgumentParser's API (the class is _OneLineParser).
    subparsers = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )
    for add_command in _COMMANDS:
        add_command(subparsers)
    return parser


def enable_completion(parser: argparse.ArgumentParser, **completion: Any) -> None:
    """Answer the shell's tab completion (argcomplete) when it asks, and do nothing otherwise.

    The shell runs ``pm`` with ``_ARGCOMPLETE`` set after ``eval "$(register-python-argcomplete pm)"``;
    argcomplete is imported only then, so ordinary runs pay nothing for it. ``completion`` goes to
    ``argcomplete.autocomplete`` (tests pass an output stream and an exit method).
    """
    if "_ARGCOMPLETE" not in os.environ:
        return
    import argcomplete

    argcomplete.autocomplete(parser, **completion)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pm`` script; returns the process exit code."""
    parser = build_parser()
    enable_completion(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse already printed why
        return exc.code if isinstance(exc.code, int) else 2
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        Output().error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        Output().error("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
