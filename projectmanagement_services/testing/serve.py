"""``pm serve``: run the reference server standalone until Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from projectmanagement_services.testing.connection_limits import MIN_JWT_SECRET_LENGTH
from projectmanagement_services.testing.rate_limit import PM_SERVER_RATE_LIMIT, RateLimit
from projectmanagement_services.testing.serve_arguments import add_connection_arguments
from projectmanagement_services.testing.server import PmTestServer
from projectmanagement_services.testing.server_breaker import ServerBreakerSettings

__all__ = ["add_connection_arguments", "connection_options", "serve"]

logger = logging.getLogger(__name__)


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    database: str | Path = ":memory:",
    token: str | None = None,
    *,
    rate_limit: RateLimit | None = PM_SERVER_RATE_LIMIT,
    on_ready: Callable[[PmTestServer], None] | None = None,
    stop: asyncio.Event | None = None,
    **server_options: Any,
) -> None:
    """Serve until SIGINT/SIGTERM arrives or ``stop`` is set, then shut down cleanly.

    Signals are turned into an event instead of a ``KeyboardInterrupt`` so that shutdown runs the
    normal path: connections dropped, the database closed, exit code 0.

    Args:
        host: Interface to bind.
        port: Port to bind; 0 lets the OS choose (``on_ready`` sees the result).
        database: ``":memory:"`` or a SQLite file that keeps data between runs.
        token: Require ``Authorization: Bearer <token>``; None serves open mode (``?user_id=``).
        rate_limit: pm-server's per-connection limit (its defaults); None turns it off.
        on_ready: Called once the server listens, e.g. to print its URL.
        stop: Set it to stop the server (tests, embedding); signals set it too.
        server_options: Further :class:`PmTestServer` keywords (see :func:`connection_options`).
    """
    stop_event = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not main thread / Windows
            loop.add_signal_handler(sig, stop_event.set)
            installed.append(sig)
    try:
        async with PmTestServer(
            host=host, port=port, database=database, auth_token=token, rate_limit=rate_limit, **server_options
        ) as server:
            limit = "off" if rate_limit is None else f"{rate_limit.burst} then 1 per {rate_limit.period:g} s"
            logger.info("pm serve listening on %s (database %s, rate limit %s)", server.url, database, limit)
            if on_ready is not None:
                on_ready(server)
            await stop_event.wait()
            logger.info("pm serve stopping")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def connection_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`PmTestServer` keywords of the flags added by :func:`add_connection_arguments`."""
    public_key = args.jwt_public_key.read_text() if args.jwt_public_key is not None else None
    if args.token is not None and (args.jwt_secret is not None or public_key is not None):
        raise ValueError("--token (static token mode) and --jwt-secret/--jwt-public-key exclude each other")
    if args.jwt_secret is not None and len(args.jwt_secret) < MIN_JWT_SECRET_LENGTH:
        raise ValueError(f"--jwt-secret must be at least {MIN_JWT_SECRET_LENGTH} characters, as pm-server")
    return {
        "max_connections": args.max_connections,
        "handler_timeout": args.handler_timeout,
        "server_breaker": None if args.no_server_breaker else ServerBreakerSettings(),
        "jwt_secret": args.jwt_secret,
        "jwt_public_key": public_key,
        "desktop_user_id": args.desktop_user_id,
    }
