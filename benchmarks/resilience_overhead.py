"""Success-path overhead of the breaker and retry, alone, composed, with telemetry, and of the peers.

Run: ``python benchmarks/resilience_overhead.py`` (``--quick`` for a tenth, ``--smoke`` for CI).

Every target wraps ``async def op(): return 1`` and is timed in ns per call (median of the
repetitions, interleaved across targets); the figures that count are the overhead over a bare
``await op()`` and the ratios, measured side by side in this one run. Before timing, each target
proves it is configured as claimed (retries 3 times on the transient error only, opens after 5
failures); a failed check makes the script exit 1.
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
from opentelemetry.metrics import NoOpMeterProvider
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
    ATTR_RPC_METHOD,
    INSTRUMENTATION_SCOPE,
    METRIC_OPERATION_DURATION,
    PmTelemetry,
    span_name,
)
from projectmanagement_services.websocket import WebSocketClient, WebSocketOptions

__all__ = ["main"]

AsyncFn = Callable[[], Awaitable[Any]]
BASELINE = "bare await op()"
OPERATION = "GetWorkItems"


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


def project_targets(sdk: Sdk) -> dict[str, AsyncFn]:
    api_telemetry = PmTelemetry(tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())
    sdk_telemetry = PmTelemetry(tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider)
    return {
        "CircuitBreaker.execute": functools.partial(_breaker().execute, op),
        "RetryPolicy.execute": functools.partial(_retry().execute, op),
        "breaker(retry(op)), telemetry off": composed(_breaker(), _retry(), None),
        "  + telemetry, OTel API, no SDK": composed(
            _breaker(api_telemetry), _retry(api_telemetry), api_telemetry
        ),
        "  + telemetry, OTel SDK": composed(_breaker(sdk_telemetry), _retry(sdk_telemetry), sdk_telemetry),
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
    ours = project_targets(sdk)
    targets: dict[str, AsyncFn] = {
        BASELINE: op,
        **ours,
        "naive: 1 OTel span + 1 histogram record": naive_telemetry(sdk),
    }
    for peer in peers:
        targets[peer.name] = peer.wrap(op)
    stats = await h.measure_interleaved(targets, scale, expect_result=1, checks=checks)
    sdk.shutdown()

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
    h.print_targets(verdicts(stats), scale)
    return checks.finish()


def verdicts(stats: dict[str, h.Stats]) -> list[h.TargetVerdict]:
    ours_off = overhead(stats, "breaker(retry(op)), telemetry off")
    fastest = overhead(stats, "circuitbreaker @circuit")
    stack = overhead(stats, "purgatory(tenacity(op))")
    ours_sdk = overhead(stats, "  + telemetry, OTel SDK")
    naive = overhead(stats, "naive: 1 OTel span + 1 histogram record")
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
    ]


def main() -> int:
    _args, scale = h.parse_args("Success-path overhead of breaker, retry and telemetry, and of the peers")
    # The correctness checks open breakers and exhaust retries on purpose: keep the console for tables.
    logging.basicConfig(level=logging.ERROR)
    return asyncio.run(run(scale))


if __name__ == "__main__":
    sys.exit(main())
