"""Round-trip latency and throughput of the clients against one minimal server in another process.

Run: ``python benchmarks/client_throughput.py`` (``--quick`` for a tenth, ``--smoke`` for CI).

Clients, all against the same server (``_throughput_server.py``: raw websockets + protobuf):
the raw baseline (``_raw_client.py``: websockets + protobuf + a dict of futures), this project's
WebSocketClient, and the ResilientWebSocketClient with telemetry off and then on (the OTel SDK,
spans batched to a no-op exporter, metrics to an in-memory reader). The operation is GetWorkItems
answered with 20 items. Measured: sequential round trips (p50, p99), and throughput with 1, 100
and 1,000 requests in flight on one connection and with 4 connections (100 in flight on each).
Repetitions are interleaved across clients; each figure is the median over them, with min-max.
Loopback only; every loop is bounded in count and time. Every answer is checked (20 items) and no
request may be left pending: a failed check makes the script exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import _harness as h
from _raw_client import RawClient
from _throughput_server import CANNED_ITEMS, PROJECT_ID

__all__ = ["main"]

SERVER_SCRIPT = Path(__file__).with_name("_throughput_server.py")

#: Full-scale counts; --quick and --smoke multiply them by the scale's factor.
SEQUENTIAL_CALLS = 2_000
THROUGHPUT_CALLS = 10_000
IN_FLIGHT = (1, 100, 1_000)
CONNECTIONS = 4
PER_CONNECTION_IN_FLIGHT = 100
MEASUREMENT_SECONDS = 60.0


class BenchClient(Protocol):
    """What the benchmark needs from any client: one GetWorkItems, the pending count, a close."""

    async def get_items(self) -> int: ...

    def pending(self) -> int: ...

    async def aclose(self) -> None: ...


ClientFactory = Callable[[str], Awaitable[BenchClient]]


@dataclass
class Kind:
    name: str
    factory: ClientFactory
    close_extra: Callable[[], None] = lambda: None


# -- client adapters ---------------------------------------------------------------------------


class _RawAdapter:
    def __init__(self, client: RawClient) -> None:
        self._client = client

    async def get_items(self) -> int:
        return len(await self._client.get_work_items(PROJECT_ID))

    def pending(self) -> int:
        return self._client.pending

    async def aclose(self) -> None:
        await self._client.aclose()


async def raw_client(url: str) -> BenchClient:
    client = RawClient(url)
    await client.connect()
    return _RawAdapter(client)


def client_kinds() -> list[Kind]:
    return [Kind("raw websockets + protobuf", raw_client)]


# -- server process ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def server_process(checks: h.Checks) -> Any:
    """The minimal server in a separate process; it exits when its stdin closes."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SERVER_SCRIPT), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        async with asyncio.timeout(30):
            line = (await process.stdout.readline()).decode()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the benchmark server did not start: {line!r}")
        yield f"ws://127.0.0.1:{int(line.split()[1])}/ws"
    finally:
        process.stdin.close()
        try:
            async with asyncio.timeout(10):
                code = await process.wait()
            checks.expect(code == 0, f"the server process exited with {code}")
        except TimeoutError:
            process.kill()
            await process.wait()
            checks.expect(False, "the server process did not stop within 10 s")


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Results:
    """Per (client, measurement): one value per repetition."""

    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, client: str, measurement: str, value: float) -> None:
        self.values.setdefault((client, measurement), []).append(value)

    def stats(self, client: str, measurement: str) -> h.Stats | None:
        found = self.values.get((client, measurement))
        return h.Stats(tuple(found)) if found else None


async def sequential(
    client: BenchClient, calls: int, deadline: h.Deadline, checks: h.Checks, name: str
) -> list[float]:
    latencies: list[float] = []
    for _ in range(calls):
        if deadline.expired:
            break
        start = time.perf_counter_ns()
        items = await client.get_items()
        latencies.append(time.perf_counter_ns() - start)
        if items != CANNED_ITEMS:
            checks.expect(False, f"{name}: got {items} items, expected {CANNED_ITEMS}")
            break
    return latencies


async def throughput(
    clients: Sequence[BenchClient],
    in_flight: int,
    calls: int,
    deadline: h.Deadline,
    checks: h.Checks,
    name: str,
) -> float:
    """Operations per second with ``in_flight`` workers on each client; ``calls`` in all."""
    remaining = calls
    completed = 0
    wrong = 0

    async def worker(client: BenchClient) -> None:
        nonlocal remaining, completed, wrong
        while remaining > 0 and not deadline.expired:
            remaining -= 1
            if await client.get_items() == CANNED_ITEMS:
                completed += 1
            else:
                wrong += 1

    start = time.perf_counter()
    async with asyncio.timeout(deadline.remaining + 30), asyncio.TaskGroup() as group:
        for client in clients:
            for _ in range(min(in_flight, calls)):
                group.create_task(worker(client))
    elapsed = time.perf_counter() - start
    checks.expect(wrong == 0, f"{name}: {wrong} answers without {CANNED_ITEMS} items")
    for client in clients:
        checks.expect(client.pending() == 0, f"{name}: {client.pending()} requests left pending")
    return completed / elapsed if elapsed > 0 else math.nan


def measurements(scale: h.Scale) -> list[tuple[str, int, int]]:
    """(label, connections, in flight per connection)."""
    rows = [(f"{n} in flight, 1 connection", 1, n) for n in IN_FLIGHT]
    rows.append(
        (
            f"{CONNECTIONS} connections x {PER_CONNECTION_IN_FLIGHT} in flight",
            CONNECTIONS,
            PER_CONNECTION_IN_FLIGHT,
        )
    )
    return rows


async def run(scale: h.Scale, max_seconds: float) -> int:
    checks = h.Checks()
    total = h.Deadline(max_seconds)
    seq_calls = max(5, int(SEQUENTIAL_CALLS * scale.factor))
    tp_calls = max(20, int(THROUGHPUT_CALLS * scale.factor))
    h.print_header("client_throughput", scale, f"sequential={seq_calls} throughput_calls={tp_calls}")
    kinds = client_kinds()
    results = Results()
    async with server_process(checks) as url:
        clients: dict[str, list[BenchClient]] = {}
        try:
            for kind in kinds:
                clients[kind.name] = [await kind.factory(url) for _ in range(CONNECTIONS)]
            # Warm-up: connections, imports and caches before anything is timed.
            for kind in kinds:
                await sequential(clients[kind.name][0], max(5, seq_calls // 10), total, checks, kind.name)
            for repetition in range(scale.repetitions):
                if total.expired:
                    h.console.print(f"note: --max-seconds reached after {repetition} repetition(s)")
                    break
                for kind in kinds:
                    own = clients[kind.name]
                    bound = h.Deadline(min(MEASUREMENT_SECONDS, total.remaining))
                    latencies = await sequential(own[0], seq_calls, bound, checks, kind.name)
                    results.add(kind.name, "p50", h.percentile(latencies, 0.50))
                    results.add(kind.name, "p99", h.percentile(latencies, 0.99))
                    for label, connections, in_flight in measurements(scale):
                        bound = h.Deadline(min(MEASUREMENT_SECONDS, total.remaining))
                        rate = await throughput(
                            own[:connections], in_flight, tp_calls, bound, checks, f"{kind.name}, {label}"
                        )
                        results.add(kind.name, label, rate)
        finally:
            for kind in kinds:
                for client in clients.get(kind.name, []):
                    await client.aclose()
                kind.close_extra()
    report(kinds, results, scale)
    return checks.finish()


def report(kinds: list[Kind], results: Results, scale: h.Scale) -> None:
    base = kinds[0].name
    latency = h.new_table(
        "Sequential GetWorkItems round trip (20 items): per-repetition percentiles, median over repetitions",
        ["client", "p50", "p50 min - max", "p50 vs raw", "p99", "p99 min - max"],
    )
    for kind in kinds:
        p50, p99 = results.stats(kind.name, "p50"), results.stats(kind.name, "p99")
        raw50 = results.stats(base, "p50")
        if p50 is None or p99 is None or raw50 is None:
            continue
        latency.add_row(
            kind.name,
            h.fmt_ns(p50.median),
            h.fmt_range_ns(p50.minimum, p50.maximum),
            h.fmt_ratio(p50.median / raw50.median),
            h.fmt_ns(p99.median),
            h.fmt_range_ns(p99.minimum, p99.maximum),
        )
    h.console.print(latency)
    table = h.new_table(
        "Throughput, GetWorkItems per second (median over repetitions, min-max, ratio to raw)",
        ["client / load", "ops/s", "min - max", "ratio to raw"],
    )
    for label, _, _ in measurements(scale):
        raw = results.stats(base, label)
        for kind in kinds:
            s = results.stats(kind.name, label)
            if s is None or raw is None:
                continue
            table.add_row(
                f"{label}: {kind.name}",
                f"{s.median:,.0f}",
                f"{s.minimum:,.0f} - {s.maximum:,.0f}",
                h.fmt_ratio(s.median / raw.median),
            )
    h.console.print(table)
    h.print_targets(verdicts(kinds, results), scale)


def verdicts(kinds: list[Kind], results: Results) -> list[h.TargetVerdict]:
    base = kinds[0].name
    resilient = next((k.name for k in kinds if k.name.startswith("ResilientWebSocketClient")), None)
    label = f"{100} in flight, 1 connection"
    raw_tp, raw_p50 = results.stats(base, label), results.stats(base, "p50")
    res_tp = results.stats(resilient, label) if resilient else None
    res_p50 = results.stats(resilient, "p50") if resilient else None
    out: list[h.TargetVerdict] = []
    if raw_tp and res_tp:
        ratio = res_tp.median / raw_tp.median
        out.append(
            h.TargetVerdict(
                "resilient >= 80 % of raw throughput at 100 in flight", f"{ratio:.0%}", ratio >= 0.8
            )
        )
    else:
        out.append(
            h.TargetVerdict("resilient >= 80 % of raw throughput at 100 in flight", "not measured", None)
        )
    if raw_p50 and res_p50:
        added = res_p50.median / raw_p50.median - 1
        out.append(h.TargetVerdict("resilient adds <= 20 % to sequential p50", f"{added:+.0%}", added <= 0.2))
    else:
        out.append(h.TargetVerdict("resilient adds <= 20 % to sequential p50", "not measured", None))
    return out


def main() -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the whole run")

    args, scale = h.parse_args("Client round-trip latency and throughput", extra)
    return asyncio.run(run(scale, args.max_seconds))


if __name__ == "__main__":
    sys.exit(main())
