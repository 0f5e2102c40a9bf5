"""``pm health``: connect, ping N times, print round-trip statistics and the connection quality.

Pings go through the resilient client (breaker, never retried: a retried ping would measure the
backoff, not the link). A lost ping is counted, not fatal; the command fails only when none came back.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from rich.table import Table

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    RequestTimeoutException,
)
from projectmanagement_services.cli_commands.errors import EXIT_FAILED, EXIT_OK
from projectmanagement_services.cli_commands.output import Output
from projectmanagement_services.cli_commands.runner import ClientCall, client_handler
from projectmanagement_services.cli_commands.stats import LatencySummary

if TYPE_CHECKING:
    from projectmanagement_services.container import PmContainer

__all__ = ["check_health"]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _health(args: argparse.Namespace, output: Output) -> ClientCall:
    async def call(container: PmContainer) -> int:
        client = container.client()
        samples: list[float] = []
        lost: dict[str, int] = {}
        for n in range(args.count):
            if n:
                await asyncio.sleep(args.interval)
            try:
                samples.append((await client.ping()).total_seconds())
            except (RequestTimeoutException, ConnectionException, CircuitOpenException) as exc:
                lost[type(exc).__name__] = lost.get(type(exc).__name__, 0) + 1
        summary = LatencySummary.of(samples)
        quality = client.health.quality.value
        url = container.web_socket_options().server_url
        report: dict[str, Any] = {
            "server_url": url,
            "sent": args.count,
            "answered": len(samples),
            "lost": lost,
            "quality": quality,
            "rtt_ms": None
            if summary is None
            else {
                "min": summary.minimum * 1000,
                "p50": summary.p50 * 1000,
                "p99": summary.p99 * 1000,
                "max": summary.maximum * 1000,
                "mean": summary.mean * 1000,
            },
        }
        if output.json_output:
            output.json(report)
        else:
            output.table(_table(url, args.count, samples, lost, summary, quality))
        return EXIT_OK if samples else EXIT_FAILED

    return call


def _table(
    url: str,
    sent: int,
    samples: list[float],
    lost: dict[str, int],
    summary: LatencySummary | None,
    quality: str,
) -> Table:
    table = Table(title="connection health", title_justify="left", show_header=False)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("server", url)
    table.add_row("pings sent", str(sent))
    table.add_row("answered", str(len(samples)))
    table.add_row("lost", ", ".join(f"{n} {why}" for why, n in lost.items()) or "0")
    if summary is not None:
        table.add_row("rtt min", _ms(summary.minimum))
        table.add_row("rtt p50", _ms(summary.p50))
        table.add_row("rtt p99", _ms(summary.p99))
        table.add_row("rtt max", _ms(summary.maximum))
        table.add_row("rtt mean", _ms(summary.mean))
    table.add_row("quality", quality)
    return table


#: The handler of ``pm health`` (parser: ``tool_parsers``); the answer is the same for every user.
check_health = client_handler(_health, needs_identity=False)
