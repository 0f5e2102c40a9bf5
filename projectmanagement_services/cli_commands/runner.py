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
from typing import TYPE_CHECKING

from projectmanagement_services.cli_commands.command_settings import settings_from_args
from projectmanagement_services.cli_commands.errors import CliError
from projectmanagement_services.cli_commands.failures import describe_failure
from projectmanagement_services.cli_commands.identity import require_identity
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.session import configure_logging, connected
from projectmanagement_services.resilience.retry_policy import RetryAttempt
from projectmanagement_services.settings import AppSettings

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["ClientCall", "Handler", "RetryReporter", "client_handler", "translate_failures"]

#: What runs once connected; returns the exit code.
ClientCall = Callable[["PmContainer"], Awaitable[int]]
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
        retries = RetryReporter(output, settings.project_management.retry_policy.max_attempts)
        try:
            with translate_failures(settings):
                return asyncio.run(_in_session(settings, call, retries))
        except CliError as exc:
            raise retries.final(exc) from None
        finally:
            undo_logging()

    return handler


class RetryReporter:
    """Shows each retry on stderr as it is decided (a lost answer otherwise means a silent minute),
    and puts the number of attempts in the final error."""

    def __init__(self, output: Output, max_attempts: int) -> None:
        self._output = output
        self._max_attempts = max_attempts
        self.attempts = 0

    def __call__(self, retry: RetryAttempt) -> None:
        self.attempts = retry.attempt + 1
        reason = str(retry.error).splitlines()[0] if str(retry.error) else type(retry.error).__name__
        self._output.warning(
            f"{retry.operation}: attempt {retry.attempt} of {self._max_attempts} failed ({reason}); "
            f"retrying in {retry.delay.total_seconds():.1f} s"
        )

    def final(self, error: CliError) -> CliError:
        """``error`` with "(N attempts)" when the failing call was retried."""
        if self.attempts < 2:
            return error
        return CliError(f"{error.message} ({self.attempts} attempts)", error.exit_code)


async def _in_session(settings: AppSettings, call: ClientCall, retries: RetryReporter) -> int:
    def observe(container: PmContainer) -> None:
        container.retry_policy().on_retry.subscribe(retries)

    async with connected(settings, configure=observe) as container:
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
