"""Success-path overhead of the breaker and retry, alone, composed, with telemetry, and of the peers.

Run: ``python benchmarks/resilience_overhead.py`` (``--quick`` for a tenth, ``--smoke`` for CI).

Every target wraps ``async def op(): return 1`` and is timed in ns per call (median of the
repetitions, interleaved across targets); the figures that count are the overhead over a bare
``await op()`` and the ratios, measured side by side in this one run. Before timing, each target
proves it is configured as claimed (retries 3 times on the transient error only, opens after 5
failures); a failed check makes the script exit 1.

Telemetry is measured three ways, each ``PmTelemetry`` built with the server address and port as
the container builds it (so a span carries the same six attributes as in real use): explicit
no-op providers (``enabled`` False: the client skips telemetry), the GLOBAL default OTel API with
no SDK installed (what a host with ``Exporter: none`` gets: ``PmTelemetry()``; this process never
installs an SDK globally, and checks the global providers are still the API's proxies before and
after timing), and the SDK on explicit providers. The issue's telemetry target compares ours with
one bare span plus one histogram record; a "like for like" naive row (the same six attributes)
is measured alongside for information.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import _harness as h
import _peers
from opentelemetry import metrics, trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.metrics._internal import _ProxyMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracerProvider, SpanKind

from projectmanagement_core.exceptions import CircuitOpenException, ConnectionException
from projectmanagement_services.resilience import (
    CircuitBreaker,
    CircuitBreakerOptions,
    RetryPolicy,
    RetryPolicyOptions,
)
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.telemetry import (
    ATTR_CIRCUIT_STATE,
    ATTR_PM_ATTEMPTS,
    ATTR_RPC_METHOD,
    ATTR_RPC_SYSTEM,
    ATTR_SERVER_ADDRESS,
    ATTR_SERVER_PORT,
    INSTRUMENTATION_SCOPE,
    METRIC_OPERATION_DURATION,
    RPC_SYSTEM,
    PmTelemetry,
    span_name,
)
from projectmanagement_services.websocket import WebSocketClient, WebSocketOptions

__all__ = ["main"]

AsyncFn = Callable[[], Awaitable[Any]]
BASELINE = "bare await op()"
OPERATION = "GetWorkItems"
#: What the container passes to PmTelemetry for ws://127.0.0.1:8765/ws (server.address, server.port).
SERVER_ADDRESS = "127.0.0.1"
SERVER_PORT = 8765

TELEMETRY_OFF = "breaker(retry(op)), telemetry off"
TELEMETRY_NOOP = "  + telemetry, explicit no-op providers"
TELEMETRY_GLOBAL_API = "  + telemetry, GLOBAL default OTel API, no SDK"
TELEMETRY_SDK = "  + telemetry, OTel SDK"
NAIVE = "naive: 1 OTel span + 1 histogram record"
NAIVE_LIKE_FOR_LIKE = "naive, like for like: span with the same 6 attributes + 1 histogram record"


async def op() -> int:
    return 1


async def _no_sleep(_seconds: float) -> None:
    return None


class NoOpSpanExporter(SpanExporter):
    """Accepts every batch and does nothing: the SDK's own cost without any I/O."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


@dataclass
class Sdk:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    reader: InMemoryMetricReader

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def make_sdk() -> Sdk:
    """Explicit providers (never the globals): batch spans to a no-op exporter, in-memory metrics."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(NoOpSpanExporter()))
    reader = InMemoryMetricReader()
    return Sdk(tracer_provider, MeterProvider(metric_readers=[reader]), reader)


# -- this project ------------------------------------------------------------------------------


def _breaker(telemetry: PmTelemetry | None = None) -> CircuitBreaker:
    return CircuitBreaker(CircuitBreakerOptions(failure_threshold=_peers.THRESHOLD), telemetry=telemetry)


def _retry(
    telemetry: PmTelemetry | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> RetryPolicy:
    return RetryPolicy(RetryPolicyOptions(max_attempts=_peers.ATTEMPTS), sleep=sleep, telemetry=telemetry)


def composed(
    breaker: CircuitBreaker, retry: RetryPolicy, telemetry: PmTelemetry | None, operation: AsyncFn = op
) -> AsyncFn:
    """breaker(retry(op)) exactly as ResilientWebSocketClient composes them (design.md section 5).

    The client's own ``_execute`` is measured (span, breaker, retry, in its order), not a copy of
    it, so that the figure follows the code. The inner client is never connected: ``operation``
    stands in for its request.
    """
    client = ResilientWebSocketClient(
        WebSocketClient(WebSocketOptions()), breaker, retry, telemetry=telemetry
    )
    return functools.partial(client._execute, OPERATION, operation)


def global_providers_are_api_defaults() -> bool:
    """No SDK (nor anything else) installed as the global providers: both are still the API's proxies."""
    return isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider) and isinstance(
        metrics.get_meter_provider(), _ProxyMeterProvider
    )


def global_api_telemetry(checks: h.Checks) -> PmTelemetry:
    """``PmTelemetry()`` on the global providers, as the container builds it for ``Exporter: none``.

    Checked rather than assumed: the globals are the API's proxies (an ``OTEL_PYTHON_*_PROVIDER``
    variable or an auto-instrumentation would have replaced them), the instance stays enabled (a
    host could install an SDK later), and its spans do not record.
    """
    checks.expect(global_providers_are_api_defaults(), "global OTel providers are the API defaults")
    telemetry = PmTelemetry(server_address=SERVER_ADDRESS, server_port=SERVER_PORT)
    checks.expect(telemetry.enabled, "PmTelemetry() on the global API stays enabled")
    with telemetry.start_operation_span(OPERATION) as span:
        checks.expect(not span.is_recording(), "PmTelemetry() with no SDK starts non-recording spans")
    return telemetry


def project_targets(sdk: Sdk, checks: h.Checks) -> dict[str, AsyncFn]:
    noop_telemetry = PmTelemetry(
        tracer_provider=NoOpTracerProvider(),
        meter_provider=NoOpMeterProvider(),
        server_address=SERVER_ADDRESS,
        server_port=SERVER_PORT,
    )
    checks.expect(not noop_telemetry.enabled, "PmTelemetry on explicit no-op providers is disabled")
    global_telemetry = global_api_telemetry(checks)
    sdk_telemetry = PmTelemetry(
        tracer_provider=sdk.tracer_provider,
        meter_provider=sdk.meter_provider,
        server_address=SERVER_ADDRESS,
        server_port=SERVER_PORT,
    )
    return {
        "CircuitBreaker.execute": functools.partial(_breaker().execute, op),
        "RetryPolicy.execute": functools.partial(_retry().execute, op),
        TELEMETRY_OFF: composed(_breaker(), _retry(), None),
        TELEMETRY_NOOP: composed(_breaker(noop_telemetry), _retry(noop_telemetry), noop_telemetry),
        TELEMETRY_GLOBAL_API: composed(
            _breaker(global_telemetry), _retry(global_telemetry), global_telemetry
        ),
        TELEMETRY_SDK: composed(_breaker(sdk_telemetry), _retry(sdk_telemetry), sdk_telemetry),
    }


def naive_telemetry(sdk: Sdk) -> AsyncFn:
    """What a user would write by hand: one span and one histogram record around every call."""
    tracer = sdk.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE)
    histogram = sdk.meter_provider.get_meter(INSTRUMENTATION_SCOPE).create_histogram(
        METRIC_OPERATION_DURATION, unit="s"
    )
    name = span_name(OPERATION)
    attributes = {ATTR_RPC_METHOD: OPERATION}

    async def call() -> Any:
        start = time.perf_counter()
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT):
            result = await op()
        histogram.record(time.perf_counter() - start, attributes)
        return result

    return call


def naive_like_for_like(sdk: Sdk) -> AsyncFn:
    """The naive span with the attributes ours carries (as a user would write them, per call)."""
    tracer = sdk.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE)
    histogram = sdk.meter_provider.get_meter(INSTRUMENTATION_SCOPE).create_histogram(
        METRIC_OPERATION_DURATION, unit="s"
    )
    name = span_name(OPERATION)

    async def call() -> Any:
        start = time.perf_counter()
        attributes = {
            ATTR_RPC_SYSTEM: RPC_SYSTEM,
            ATTR_RPC_METHOD: OPERATION,
            ATTR_SERVER_ADDRESS: SERVER_ADDRESS,
            ATTR_SERVER_PORT: SERVER_PORT,
            ATTR_PM_ATTEMPTS: 1,
            ATTR_CIRCUIT_STATE: "closed",
        }
        with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
            result = await op()
        histogram.record(time.perf_counter() - start, {ATTR_RPC_METHOD: OPERATION})
        return result

    return call


# -- correctness checks: each target is configured as claimed ------------------------------------


class Flaky:
    """Fails ``failures`` times with ``error`` and then returns 1; counts the calls."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("injected")
        return 1


async def _outcome(fn: AsyncFn) -> object:
    try:
        return await fn()
    except Exception as exc:
        return type(exc)


async def check_retry(name: str, wrap: Callable[[AsyncFn], AsyncFn], checks: h.Checks) -> None:
    flaky = Flaky(_peers.ATTEMPTS - 1)
    result = await _outcome(wrap(flaky))
    checks.expect(result == 1 and flaky.calls == _peers.ATTEMPTS, f"{name}: recovers on the last attempt")
    always = Flaky(10**9)
    result = await _outcome(wrap(always))
    checks.expect(
        result is ConnectionException and always.calls == _peers.ATTEMPTS,
        f"{name}: {_peers.ATTEMPTS} attempts then the transient error itself (got {result}, {always.calls})",
    )
    other = Flaky(10**9, ValueError)
    result = await _outcome(wrap(other))
    checks.expect(result is ValueError and other.calls == 1, f"{name}: a non-transient error is not retried")


async def check_breaker(
    name: str,
    fn_for: Callable[[AsyncFn], AsyncFn],
    rejection: type[BaseException],
    per_call: int,
    checks: h.Checks,
) -> None:
    """After THRESHOLD failed calls the next call is rejected without reaching the operation."""
    always = Flaky(10**9)
    wrapped = fn_for(always)
    for _ in range(_peers.THRESHOLD):
        await _outcome(wrapped)
    calls_before = always.calls
    result = await _outcome(wrapped)
    checks.expect(
        calls_before == _peers.THRESHOLD * per_call,
        f"{name}: {_peers.THRESHOLD} failing calls reach the operation {per_call} time(s) each",
    )
    checks.expect(
        isinstance(result, type) and issubclass(result, rejection) and always.calls == calls_before,
        f"{name}: open after {_peers.THRESHOLD} failures (got {result})",
    )


async def run_checks(peers: list[_peers.Peer], checks: h.Checks) -> None:
    fast_retry = _retry(sleep=_no_sleep)
    await check_retry("RetryPolicy", lambda fn: functools.partial(fast_retry.execute, fn), checks)
    await check_breaker(
        "CircuitBreaker",
        lambda fn: functools.partial(_breaker().execute, fn),
        CircuitOpenException,
        1,
        checks,
    )
    await check_breaker(
        "breaker(retry(op))",
        lambda fn: composed(_breaker(), fast_retry, None, fn),
        CircuitOpenException,
        _peers.ATTEMPTS,
        checks,
    )
    for peer in _peers.build_peers(ConnectionException, delay=0.001):
        if peer.kind == "retry":
            await check_retry(peer.name, peer.wrap, checks)
        else:
            assert peer.rejection is not None
            per_call = _peers.ATTEMPTS if peer.kind == "stack" else 1
            await check_breaker(peer.name, peer.wrap, peer.rejection, per_call, checks)
    del peers


# -- report --------------------------------------------------------------------------------------


def overhead(stats: dict[str, h.Stats], name: str) -> float:
    return stats[name].median - stats[BASELINE].median if name in stats else math.nan


async def run(scale: h.Scale) -> int:
    checks = h.Checks()
    missing = _peers.missing_peers()
    h.print_header("resilience_overhead", scale)
    for name in missing:
        h.console.print(f"note: peer {name!r} is not installed (pip install -e '.[bench]'); skipped")
    peers = _peers.build_peers(ConnectionException, delay=0.1)
    await run_checks(peers, checks)

    sdk = make_sdk()
    ours = project_targets(sdk, checks)
    targets: dict[str, AsyncFn] = {
        BASELINE: op,
        **ours,
        NAIVE: naive_telemetry(sdk),
        NAIVE_LIKE_FOR_LIKE: naive_like_for_like(sdk),
    }
    for peer in peers:
        targets[peer.name] = peer.wrap(op)
    stats = await h.measure_interleaved(targets, scale, expect_result=1, checks=checks)
    sdk.shutdown()
    checks.expect(global_providers_are_api_defaults(), "global OTel providers still the API defaults")

    base = stats[BASELINE].median
    table = h.new_table(
        "Success-path cost per call (ns per call: median, min-max over repetitions)",
        ["target", "median", "min - max", "overhead", "ratio to bare"],
    )
    for name, s in stats.items():
        table.add_row(
            name,
            h.fmt_ns(s.median),
            h.fmt_range_ns(s.minimum, s.maximum),
            h.fmt_ns(s.median - base),
            h.fmt_ratio(s.median / base),
        )
    h.console.print(table)
    print_telemetry_costs(stats)
    h.print_targets(verdicts(stats), scale)
    return checks.finish()


def print_telemetry_costs(stats: dict[str, h.Stats]) -> None:
    """What telemetry adds to one resilient operation, by set-up, next to the naive baselines."""
    off = stats[TELEMETRY_OFF].median
    base = stats[BASELINE].median
    table = h.new_table(
        "Telemetry cost per resilient operation (median over telemetry off; naive rows: over bare)",
        ["set-up", "cost per operation"],
    )
    for name in (TELEMETRY_NOOP, TELEMETRY_GLOBAL_API, TELEMETRY_SDK):
        table.add_row(name.strip(" +"), h.fmt_ns(stats[name].median - off))
    for name in (NAIVE, NAIVE_LIKE_FOR_LIKE):
        table.add_row(name, h.fmt_ns(stats[name].median - base))
    h.console.print(table)


def verdicts(stats: dict[str, h.Stats]) -> list[h.TargetVerdict]:
    ours_off = overhead(stats, TELEMETRY_OFF)
    fastest = overhead(stats, "circuitbreaker @circuit")
    stack = overhead(stats, "purgatory(tenacity(op))")
    ours_sdk = overhead(stats, TELEMETRY_SDK)
    naive = overhead(stats, NAIVE)
    like_for_like = overhead(stats, NAIVE_LIKE_FOR_LIKE)
    telemetry_cost = ours_sdk - ours_off
    return [
        h.TargetVerdict(
            "breaker+retry (telemetry off) overhead <= circuitbreaker's breaker alone",
            f"{h.fmt_ns(ours_off)} vs {h.fmt_ns(fastest)}",
            None if math.isnan(fastest) else ours_off <= fastest,
        ),
        h.TargetVerdict(
            "... about 25x less than purgatory(tenacity(op))",
            f"{stack / ours_off:.1f}x less" if not math.isnan(stack) else "peer missing",
            None if math.isnan(stack) else stack / ours_off >= 25,
        ),
        h.TargetVerdict(
            "SDK telemetry of a resilient op < naive span + histogram",
            f"{h.fmt_ns(telemetry_cost)} vs {h.fmt_ns(naive)}",
            telemetry_cost < naive,
        ),
        h.TargetVerdict(
            "(extra, not the issue's target) ... < naive span with the same 6 attributes + histogram",
            f"{h.fmt_ns(telemetry_cost)} vs {h.fmt_ns(like_for_like)}",
            telemetry_cost < like_for_like,
        ),
    ]


def main() -> int:
    _args, scale = h.parse_args("Success-path overhead of breaker, retry and telemetry, and of the peers")
    # The correctness checks open breakers and exhaust retries on purpose: keep the console for tables.
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run(scale))


if __name__ == "__main__":
    sys.exit(main())
