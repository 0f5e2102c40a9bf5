"""Round-trip latency and throughput of the clients against one minimal server in another process.

Run: ``python benchmarks/client_throughput.py`` (``--quick`` for a tenth, ``--smoke`` for CI).

Clients, all against the same server (``_throughput_server.py``: raw websockets + protobuf):

* the raw baseline (``_raw_client.py``: websockets + protobuf + a dict of futures), returning
  protobuf messages;
* a reference, "raw + converters": the raw client plus this project's proto -> model conversion
  of each answer, to show how much of any gap is the models rather than the client machinery;
* this project's WebSocketClient, and the ResilientWebSocketClient with telemetry off and then on
  (the OTel SDK with explicit providers: spans batched to a no-op exporter, metrics to an
  in-memory reader).

Operations: GetWorkItems answered with 20 items, and Ping (no model conversion at all, so it shows
the client machinery alone). The canned GetWorkItems answer repeats the same 20 ids, so the
converters' id-parse cache always hits; "GetWorkItems (fresh ids)" is answered with ids that never
repeat within more answers than that cache holds, as real traffic is (sequential p50 and 100 in
flight only, to bound the run). Measured: sequential round trips (p50, p99), and throughput with 1,
100 and 1,000 requests in flight on one connection and with 4 connections (100 in flight on each).
Repetitions are interleaved across clients; each figure is the median over them, with min-max.
Loopback only; every loop is bounded in count and time. Every answer is checked (20 items, or a
Pong) and no request may be left pending: a failed check makes the script exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import _harness as h
from _raw_client import RawClient
from _throughput_server import CANNED_ITEMS, FRESH_PROJECT_ID, PROJECT_ID
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from projectmanagement_core import converters
from projectmanagement_services.resilience import (
    CircuitBreaker,
    CircuitBreakerOptions,
    RetryPolicy,
    RetryPolicyOptions,
)
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.telemetry import PmTelemetry
from projectmanagement_services.websocket import WebSocketClient, WebSocketOptions

__all__ = ["main"]

_PROJECT_UUID = uuid.UUID(PROJECT_ID)
_FRESH_PROJECT_UUID = uuid.UUID(FRESH_PROJECT_ID)
SERVER_SCRIPT = Path(__file__).with_name("_throughput_server.py")

#: Full-scale counts; --quick and --smoke multiply them by the scale's factor.
SEQUENTIAL_CALLS = 2_000
THROUGHPUT_CALLS = 10_000
CONNECTIONS = 4
#: Each measurement stops at its count or after this long, whichever comes first (the conversion-bound
#: clients would otherwise take minutes per repetition); rates are completed operations / elapsed.
MEASUREMENT_SECONDS = 2.0

RAW = "raw websockets + protobuf"
RAW_CONVERTED = "raw + converters (reference)"
PLAIN = "WebSocketClient"
RESILIENT = "ResilientWebSocketClient, telemetry off"
RESILIENT_SDK = "ResilientWebSocketClient, OTel SDK on"

ITEMS = "GetWorkItems"
ITEMS_FRESH = "GetWorkItems (fresh ids)"
PING = "Ping"
SEQUENTIAL_OPERATIONS = (ITEMS, ITEMS_FRESH, PING)


@dataclass(frozen=True, slots=True)
class Load:
    """One throughput measurement: an operation, how many connections, how many in flight on each."""

    operation: str
    connections: int
    in_flight: int

    @property
    def label(self) -> str:
        where = "1 connection" if self.connections == 1 else f"{self.connections} connections"
        return f"{self.operation}, {self.in_flight} in flight x {where}"


LOADS = (
    Load(ITEMS, 1, 1),
    Load(ITEMS, 1, 100),
    Load(ITEMS, 1, 1_000),
    Load(ITEMS, CONNECTIONS, 100),
    Load(ITEMS_FRESH, 1, 100),
    Load(PING, 1, 100),
)
TARGET_LOAD = Load(ITEMS, 1, 100)
FRESH_LOAD = Load(ITEMS_FRESH, 1, 100)


class BenchClient(Protocol):
    """What the benchmark needs from any client: the two operations, the pending count, a close."""

    async def call(self, operation: str) -> bool:
        """One request; True when the answer is right (20 items, or a Pong)."""
        ...

    def pending(self) -> int: ...

    async def aclose(self) -> None: ...


# -- client adapters ---------------------------------------------------------------------------


class _RawAdapter:
    def __init__(self, client: RawClient, *, convert: bool) -> None:
        self._client = client
        self._convert = convert

    async def call(self, operation: str) -> bool:
        if operation == PING:
            await self._client.ping()
            return True
        items = await self._client.get_work_items(
            FRESH_PROJECT_ID if operation == ITEMS_FRESH else PROJECT_ID
        )
        if self._convert:
            models = [converters.work_item_from_proto(item) for item in items]
            return len(models) == CANNED_ITEMS
        return len(items) == CANNED_ITEMS

    def pending(self) -> int:
        return self._client.pending

    async def aclose(self) -> None:
        await self._client.aclose()


class _ProjectAdapter:
    """This project's clients: WebSocketClient and ResilientWebSocketClient (same operations)."""

    def __init__(self, client: WebSocketClient | ResilientWebSocketClient, inner: WebSocketClient) -> None:
        self._client = client
        self._inner = inner

    async def call(self, operation: str) -> bool:
        if operation == PING:
            await self._client.ping()
            return True
        project = _FRESH_PROJECT_UUID if operation == ITEMS_FRESH else _PROJECT_UUID
        return len(await self._client.get_work_items(project)) == CANNED_ITEMS

    def pending(self) -> int:
        return self._inner.pending_count

    async def aclose(self) -> None:
        await self._client.aclose()


class NoOpSpanExporter(SpanExporter):
    """Accepts every batch and does nothing: the SDK's own cost without any I/O."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass
class Sdk:
    """Explicit SDK providers (never the globals)."""

    tracer_provider: TracerProvider = field(default_factory=TracerProvider)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)
    meter_provider: MeterProvider = field(init=False)

    def __post_init__(self) -> None:
        self.tracer_provider.add_span_processor(BatchSpanProcessor(NoOpSpanExporter()))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _options(url: str) -> WebSocketOptions:
    # MaxPendingRequests is raised above the default 1,000 so that the 1,000-in-flight run measures
    # the client, not its back-pressure (the raw baseline has no limit at all). The heartbeat pings
    # only after 30 s of silence, which a connection under load never has; but the idle extra
    # connections did, and a heartbeat ping whose Pong was still queued behind a loaded loop showed
    # up as "1 request left pending" in the checks. Pushed out of the run, it measures the same.
    return WebSocketOptions(
        server_url=url,
        max_pending_requests=2_000,
        heartbeat_interval=timedelta(hours=1),
        heartbeat_timeout=timedelta(hours=2),
    )


ClientFactory = Callable[[str], Awaitable[BenchClient]]


def client_factories(sdk: Sdk) -> dict[str, ClientFactory]:
    async def raw(url: str) -> BenchClient:
        client = RawClient(url)
        await client.connect()
        return _RawAdapter(client, convert=False)

    async def raw_converted(url: str) -> BenchClient:
        client = RawClient(url)
        await client.connect()
        return _RawAdapter(client, convert=True)

    async def plain(url: str) -> BenchClient:
        client = WebSocketClient(_options(url))
        await client.connect()
        return _ProjectAdapter(client, client)

    def resilient(telemetry: PmTelemetry | None) -> ClientFactory:
        async def build(url: str) -> BenchClient:
            inner = WebSocketClient(_options(url))
            client = ResilientWebSocketClient(
                inner,
                CircuitBreaker(CircuitBreakerOptions(), telemetry=telemetry),
                RetryPolicy(RetryPolicyOptions(), telemetry=telemetry),
                telemetry=telemetry,
            )
            await client.connect()
            return _ProjectAdapter(client, inner)

        return build

    sdk_telemetry = PmTelemetry(sdk.tracer_provider, sdk.meter_provider)
    return {
        RAW: raw,
        RAW_CONVERTED: raw_converted,
        PLAIN: plain,
        RESILIENT: resilient(None),
        RESILIENT_SDK: resilient(sdk_telemetry),
    }


# -- server process ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def server_process(checks: h.Checks) -> AsyncIterator[str]:
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


async def check_fresh_ids(url: str, checks: h.Checks) -> None:
    """The fresh-id answers really carry new ids: two in a row share none, the canned ones all."""
    client = RawClient(url)
    await client.connect()
    try:
        async with asyncio.timeout(30):
            first = {item.id for item in await client.get_work_items(FRESH_PROJECT_ID)}
            second = {item.id for item in await client.get_work_items(FRESH_PROJECT_ID)}
            canned = [{item.id for item in await client.get_work_items(PROJECT_ID)} for _ in range(2)]
    finally:
        await client.aclose()
    checks.expect(len(first) == len(second) == CANNED_ITEMS, "fresh-id answers carry 20 distinct ids")
    checks.expect(not first & second, "two fresh-id answers in a row share no id")
    checks.expect(canned[0] == canned[1], "the canned answer repeats the same ids")


async def sequential(
    client: BenchClient, operation: str, calls: int, deadline: h.Deadline, checks: h.Checks, name: str
) -> list[float]:
    """Latency (ns) of ``calls`` round trips made one after another."""
    latencies: list[float] = []
    async with asyncio.timeout(deadline.remaining + 30):
        for _ in range(calls):
            if deadline.expired:
                break
            start = time.perf_counter_ns()
            right = await client.call(operation)
            latencies.append(time.perf_counter_ns() - start)
            if not right:
                checks.expect(False, f"{name}: wrong answer to {operation}")
                break
    return latencies


async def throughput(
    clients: Sequence[BenchClient], load: Load, calls: int, deadline: h.Deadline, checks: h.Checks, name: str
) -> float:
    """Operations per second with ``load.in_flight`` workers on each client; ``calls`` in all."""
    remaining = calls
    completed = 0
    wrong = 0

    async def worker(client: BenchClient) -> None:
        nonlocal remaining, completed, wrong
        while remaining > 0 and not deadline.expired:
            remaining -= 1
            if await client.call(load.operation):
                completed += 1
            else:
                wrong += 1

    start = time.perf_counter()
    async with asyncio.timeout(deadline.remaining + 30), asyncio.TaskGroup() as group:
        for client in clients[: load.connections]:
            for _ in range(min(load.in_flight, calls)):
                group.create_task(worker(client))
    elapsed = time.perf_counter() - start
    checks.expect(wrong == 0, f"{name}: {wrong} wrong answers")
    for client in clients:
        checks.expect(client.pending() == 0, f"{name}: {client.pending()} requests left pending")
    return completed / elapsed if elapsed > 0 else math.nan


async def run(scale: h.Scale, max_seconds: float) -> int:
    checks = h.Checks()
    total = h.Deadline(max_seconds)
    seq_calls = max(5, int(SEQUENTIAL_CALLS * scale.factor))
    tp_calls = max(20, int(THROUGHPUT_CALLS * scale.factor))
    h.print_header("client_throughput", scale, f"sequential={seq_calls} throughput_calls={tp_calls}")
    sdk = Sdk()
    factories = client_factories(sdk)
    results = Results()
    clients: dict[str, list[BenchClient]] = {}
    async with server_process(checks) as url:
        try:
            for name, factory in factories.items():
                clients[name] = [await factory(url) for _ in range(CONNECTIONS)]
            await check_fresh_ids(url, checks)
            # Warm-up: connections, imports and caches before anything is timed.
            for name, own in clients.items():
                for operation in SEQUENTIAL_OPERATIONS:
                    await sequential(own[0], operation, max(5, seq_calls // 10), total, checks, name)
            for repetition in range(scale.repetitions):
                if total.expired:
                    h.console.print(f"note: --max-seconds reached after {repetition} repetition(s)")
                    break
                for name, own in clients.items():
                    for operation in SEQUENTIAL_OPERATIONS:
                        bound = h.Deadline(min(MEASUREMENT_SECONDS, total.remaining))
                        latencies = await sequential(own[0], operation, seq_calls, bound, checks, name)
                        results.add(name, f"{operation} p50", h.percentile(latencies, 0.50))
                        results.add(name, f"{operation} p99", h.percentile(latencies, 0.99))
                    for load in LOADS:
                        bound = h.Deadline(min(MEASUREMENT_SECONDS, total.remaining))
                        rate = await throughput(own, load, tp_calls, bound, checks, f"{name}, {load.label}")
                        results.add(name, load.label, rate)
        finally:
            for own in clients.values():
                for client in own:
                    await client.aclose()
            sdk.shutdown()
    report(list(factories), results, scale)
    return checks.finish()


def report(names: list[str], results: Results, scale: h.Scale) -> None:
    latency = h.new_table(
        "Sequential round trips (per-repetition percentiles; median over repetitions, min-max)",
        ["client", "operation", "p50", "p50 min - max", "p50 vs raw", "p99", "p99 min - max"],
    )
    for operation in SEQUENTIAL_OPERATIONS:
        raw50 = results.stats(RAW, f"{operation} p50")
        for name in names:
            p50, p99 = results.stats(name, f"{operation} p50"), results.stats(name, f"{operation} p99")
            if p50 is None or p99 is None or raw50 is None:
                continue
            latency.add_row(
                name,
                operation,
                h.fmt_ns(p50.median),
                h.fmt_range_ns(p50.minimum, p50.maximum),
                h.fmt_ratio(p50.median / raw50.median),
                h.fmt_ns(p99.median),
                h.fmt_range_ns(p99.minimum, p99.maximum),
            )
    h.console.print(latency)
    table = h.new_table(
        "Throughput, operations per second (median over repetitions, min-max, ratio to raw)",
        ["load / client", "ops/s", "min - max", "ratio to raw"],
    )
    for load in LOADS:
        raw = results.stats(RAW, load.label)
        for name in names:
            s = results.stats(name, load.label)
            if s is None or raw is None:
                continue
            table.add_row(
                f"{load.label}: {name}",
                f"{s.median:,.0f}",
                f"{s.minimum:,.0f} - {s.maximum:,.0f}",
                h.fmt_ratio(s.median / raw.median),
            )
    h.console.print(table)
    h.print_targets(verdicts(results), scale)


def verdicts(results: Results) -> list[h.TargetVerdict]:
    """The issue's targets on the canned answer, then the same on fresh ids (what real traffic gets)."""
    out: list[h.TargetVerdict] = []
    for load, operation in ((TARGET_LOAD, ITEMS), (FRESH_LOAD, ITEMS_FRESH)):
        for resilient in (RESILIENT, RESILIENT_SDK):
            raw_tp, res_tp = results.stats(RAW, load.label), results.stats(resilient, load.label)
            target = f"{resilient}: >= 80 % of raw throughput, {load.label}"
            if raw_tp and res_tp:
                ratio = res_tp.median / raw_tp.median
                out.append(h.TargetVerdict(target, f"{ratio:.0%}", ratio >= 0.8))
            else:
                out.append(h.TargetVerdict(target, "not measured", None))
            raw_p50, res_p50 = (
                results.stats(RAW, f"{operation} p50"),
                results.stats(resilient, f"{operation} p50"),
            )
            target = f"{resilient}: adds <= 20 % to sequential {operation} p50"
            if raw_p50 and res_p50:
                added = res_p50.median / raw_p50.median - 1
                out.append(h.TargetVerdict(target, f"{added:+.0%}", added <= 0.2))
            else:
                out.append(h.TargetVerdict(target, "not measured", None))
    return out


def main() -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--max-seconds", type=float, default=1_200.0, help="bound on the whole run")

    args, scale = h.parse_args("Client round-trip latency and throughput", extra)
    return asyncio.run(run(scale, args.max_seconds))


if __name__ == "__main__":
    sys.exit(main())
