"""A command's session: logging on stderr, and the client graph started from the DI container.

Commands use the container exactly as an embedding application does (``create_container(settings)``
then its resources), so ``pm`` exercises the same wiring users get. Connecting is bounded by the
settings' ``ConnectTimeout``; the reconnection service is closed with the container when a command
ends, so a one-shot command never waits on a reconnect loop.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.logging import RichHandler

from projectmanagement_core.exceptions import ConnectionException
from projectmanagement_services.cli_commands.failures import connect_failure
from projectmanagement_services.settings import AppSettings

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["configure_logging", "connected"]

#: The package whose loggers ``-vv`` turns to DEBUG whatever the settings say.
_PACKAGE_LOGGER = "projectmanagement_services"


def configure_logging(
    settings: AppSettings, verbosity: int, console: Console, *, quiet: bool = False
) -> Callable[[], None]:
    """Send log records to ``console`` (stderr) through rich; returns the undo for tests and embedding.

    Logger levels come from the settings' ``Logging:LogLevel`` (as an embedding app's would); what the
    console shows is the user's choice: warnings by default (errors only when ``quiet``, for the demo
    whose faults are expected and shown in its own view), info with ``-v``, debug with ``-vv``.
    """
    root = logging.getLogger()
    package = logging.getLogger(_PACKAGE_LOGGER)
    saved = (root.level, package.level)
    settings.logging.apply()
    if verbosity >= 2:
        package.setLevel(logging.DEBUG)
        root.setLevel(min(root.level, logging.DEBUG))
    shown = {0: logging.ERROR if quiet else logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = RichHandler(console=console, level=shown, show_path=False, rich_tracebacks=False)
    root.addHandler(handler)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        package.setLevel(saved[1])

    return undo


@asynccontextmanager
async def connected(
    settings: AppSettings, *, configure: Callable[[PmContainer], None] | None = None
) -> AsyncIterator[PmContainer]:
    """The container over ``settings``, connected; everything closed on exit, also on failure.

    Args:
        settings: the loaded settings.
        configure: called with the container before it starts (to subscribe to its components'
            events before the first connection, e.g. for ``pm watch``).

    Raises:
        CliError: the server could not be reached within ConnectTimeout (exit 3).
    """
    # Imported here: the container pulls in dependency-injector, which ``pm --help`` never needs.
    from projectmanagement_services.container import create_container

    container = create_container(settings)
    if configure is not None:
        configure(container)
    try:
        await _completed(container.init_resources())
    except ConnectionException as exc:
        await _completed(container.shutdown_resources())
        web_socket = settings.project_management.web_socket
        raise connect_failure(
            exc, web_socket.server_url, has_token=web_socket.auth_token is not None
        ) from None
    except BaseException:
        await _completed(container.shutdown_resources())
        raise
    try:
        yield container
    finally:
        await _completed(container.shutdown_resources())


async def _completed(result: Awaitable[object] | None) -> None:
    """dependency-injector returns an awaitable only when some resource is async."""
    if result is not None:
        await result
