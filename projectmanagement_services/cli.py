# PYTHON_ARGCOMPLETE_OK  (argcomplete's global completion looks for this marker in the entry module)
"""The ``pm`` command: one argparse subcommand per task.

Each subcommand is registered by an ``add_<name>_command(subparsers)`` function listed in
``_COMMANDS`` (``cli_commands.entity_parsers`` and ``cli_commands.tool_parsers``); it sets
``handler`` (``Callable[[argparse.Namespace], int]``) on its parser, deferred: the command's module
is imported only when the command runs.

Cold start: building the parser imports argparse and the parser modules only, no pydantic,
settings, container, websockets, telemetry or rich, so ``pm --help``, ``pm <command> --help``,
``pm --version`` and tab completion answer in about the time Python takes to start
(``benchmarks/cold_start.py``; a test holds the import list).

Failures never show a traceback: ``main`` prints one line (``pm: ...``) on stderr and returns the exit
code: 0 success, 1 the request or a demo check failed, 2 bad command line or settings, 3 the server
could not be reached (or was lost for good), 130 interrupted by Ctrl-C (``pm watch`` and ``pm serve``
treat Ctrl-C as their normal stop and exit 0).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, cast

from projectmanagement_services.cli_commands.entity_parsers import (
    add_item_commands,
    add_project_commands,
    add_sprint_commands,
)
from projectmanagement_services.cli_commands.errors import EXIT_INTERRUPTED, CliError
from projectmanagement_services.cli_commands.global_options import add_global_options
from projectmanagement_services.cli_commands.tool_parsers import (
    add_config_command,
    add_demo_command,
    add_health_command,
    add_serve_command,
    add_watch_command,
)

__all__ = ["build_parser", "main"]

#: argparse names a ``type=`` function in its message ("invalid _positive_int value"): not for users.
_INTERNAL_TYPE_NAME = re.compile(r"invalid \w+ value: ")


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``pm items create: --title is required``) plus
    where to read more, as every other ``pm`` error; subcommand parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        message = _INTERNAL_TYPE_NAME.sub("invalid value: ", message)
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    """What ``pm --version`` prints after ``pm``: the installed distribution's version."""
    from projectmanagement_services._version import installed_version

    return installed_version() or "unknown (not installed)"


class _VersionAction(argparse.Action):
    """argparse's ``version`` action, but the version is read (``importlib.metadata``, about 30 ms
    to import) only when ``--version`` is given, not while every parser is built."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest=dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
            **kwargs,
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> NoReturn:
        sys.stdout.write(f"pm {_version()}\n")
        parser.exit()


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    add_demo_command,
    add_config_command,
    add_project_commands,
    add_item_commands,
    add_sprint_commands,
    add_watch_command,
    add_health_command,
    add_serve_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``pm`` parser with every registered subcommand."""
    parser = _OneLineParser(
        prog="pm",
        description="pm-ws client framework tools: the resilience demo, a reference server, and a client.",
        epilog="Exit codes: 0 ok, 1 request or check failed, 2 usage or settings, 3 server unreachable, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action=_VersionAction)
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


def _report(message: str) -> None:
    """One ``pm: ...`` line on stderr, in the command's usual style (rich is imported only now)."""
    from projectmanagement_services.cli_commands.output import Output

    Output().error(message)


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
        _report(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        _report("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
