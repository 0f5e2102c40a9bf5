"""``pm serve``: run the reference pm-ws server until Ctrl-C or SIGTERM (parser: ``tool_parsers``).

Imported only when ``pm serve`` runs: it loads the reference server, websockets and SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from projectmanagement_services.cli_commands.errors import EXIT_FAILED, CliError

__all__ = ["MAX_PORT", "run_serve"]

#: The highest TCP port; 0 asks the OS for a free one.
MAX_PORT: Final = 65535


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


def run_serve(args: argparse.Namespace) -> int:
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

    if not 0 <= args.port <= MAX_PORT:
        raise CliError(f"serve: --port must be 0-{MAX_PORT} (got {args.port})", exit_code=2)
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


def _listen_error(host: str, port: int, exc: OSError) -> str:
    """``pm serve`` could not listen: say where, and what to do, in one line."""
    if exc.errno == errno.EADDRINUSE:
        return f"serve: {host}:{port} is already in use (choose another --port, or --port 0 for a free one)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"serve: cannot listen on {host}: no such address on this machine (--host)"
    reason = exc.strerror or str(exc)
    return f"serve: cannot listen on {host}:{port}: {reason}"
