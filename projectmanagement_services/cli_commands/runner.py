"""Running a client command: settings, validation before connecting, the session, errors as one line.

A command is planned in two steps. ``plan(args, output)`` runs first, with no network: it builds and
validates the request (a ``ValidationException`` there means nothing was sent, not even a
connection opened). It returns the ``ClientCall`` that runs inside a connected session.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from projectmanagement_services.cli_commands.errors import CliError, describe_failure
from projectmanagement_services.cli_commands.global_options import settings_from_args
from projectmanagement_services.cli_commands.identity import require_identity
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.session import configure_logging, connected
from projectmanagement_services.container import PmContainer
from projectmanagement_services.settings import AppSettings

__all__ = ["ClientCall", "Handler", "client_handler", "translate_failures"]

#: What runs once connected; returns the exit code.
ClientCall = Callable[[PmContainer], Awaitable[int]]
#: A parser's ``handler``: the arguments in, the exit code out.
Handler = Callable[[argparse.Namespace], int]


def client_handler(
    plan: Callable[[argparse.Namespace, Output], ClientCall], *, needs_identity: bool = True
) -> Handler:
    """A parser handler that validates with ``plan``, connects, runs the call and closes everything.

    ``needs_identity``: refuse to run as the random user the server would make up (any command that
    reads or writes data; not ``pm health``, whose answer is the same for everyone).
    """

    def handler(args: argparse.Namespace) -> int:
        output = Output(json_output=bool(getattr(args, "json", False)))
        settings = settings_from_args(args)
        with translate_failures(settings):
            call = plan(args, output)
        if needs_identity:
            require_identity(settings)
        undo_logging = configure_logging(settings, args.verbose, output.err)
        try:
            with translate_failures(settings):
                return asyncio.run(_in_session(settings, call))
        finally:
            undo_logging()

    return handler


async def _in_session(settings: AppSettings, call: ClientCall) -> int:
    async with connected(settings) as container:
        return await call(container)


@contextmanager
def translate_failures(settings: AppSettings) -> Iterator[None]:
    """Turn a library error into the ``CliError`` the user sees; programming errors pass unchanged."""
    try:
        yield
    except CliError:
        raise
    except Exception as exc:
        described = describe_failure(exc, settings.project_management.web_socket.server_url)
        if described is None:
            raise
        raise described from None
