"""PmTelemetry against the OTel SDK's in-memory exporter and reader, passed in explicitly."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from opentelemetry import trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult
from opentelemetry.trace import NoOpTracerProvider, SpanKind, StatusCode

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ErrorCode,
    ServerRejectedException,
)
from projectmanagement_services import __version__
from projectmanagement_services.resilience import (
    CircuitBreaker,
    CircuitBreakerOptions,
    RetryPolicy,
    RetryPolicyOptions,
)
from projectmanagement_services.telemetry import (
    EVENT_CIRCUIT_REJECTED,
    EVENT_RECONNECT_ATTEMPT,
    EVENT_RETRY,
    INSTRUMENTATION_SCOPE,
    METRIC_CIRCUIT_REJECTIONS,
    METRIC_CIRCUIT_STATE,
    METRIC_CIRCUIT_TRANSITIONS,
    METRIC_CONNECTION_RTT,
    METRIC_FRAMES_DROPPED,
    METRIC_OPERATION_DURATION,
    METRIC_RECONNECTION_ATTEMPTS,
    METRIC_RETRY_ATTEMPTS,
    PmTelemetry,
    error_type,
)
from tests.services.resilience.fakes import FakeClock

T = TypeVar("T")


class Rig:
    """A telemetry object on private SDK providers, plus a breaker and a retry policy wired to it."""

    def __init__(self, *, sampler: Any = None) -> None:
        self.clock = FakeClock()
        self.exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = tracer_provider.get_tracer("test")
        self.reader = InMemoryMetricReader()
        self.telemetry = PmTelemetry(
            tracer_provider,
            MeterProvider(metric_readers=[self.reader]),
            server_address="127.0.0.1",
            server_port=8765,
            clock=self.clock,
        )
        self.breaker = CircuitBreaker(
            CircuitBreakerOptions(failure_threshold=2, half_open_success_threshold=1),
            clock=self.clock,
            telemetry=self.telemetry,
        )
        self.retry = RetryPolicy(
            RetryPolicyOptions(max_attempts=3),
            sleep=self.clock.sleep,
            random=lambda: 0.0,
            telemetry=self.telemetry,
        )

    async def call(self, name: str, operation: Callable[[], Awaitable[T]]) -> T:
        """What the resilient client does: span around breaker(retry(operation))."""
        with self.telemetry.start_operation_span(name, circuit=self.breaker):
            return await self.breaker.execute(
                lambda: self.retry.execute(operation, operation_name=name), operation_name=name
            )

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def metrics(self) -> dict[str, Any]:
        """Metric name -> (scope, list of data points), from one collection."""
        found: dict[str, Any] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found[metric.name] = (scope_metrics.scope, list(metric.data.data_points))
        return found

    def points(self, name: str) -> list[Any]:
        return self.metrics().get(name, (None, []))[1]


def script(
    *outcomes: BaseException, result: object = "ok", clock: FakeClock | None = None, step: float = 0.0
):
    pending = list(outcomes)

    async def operation() -> object:
        if clock is not None:
            clock.advance(step)
        if pending:
            raise pending.pop(0)
        return result

    return operation


# -- operation spans ------------------------------------------------------------------------------


async def test_successful_operation_span_and_duration() -> None:
    rig = Rig()
    assert await rig.call("CreateWorkItem", script(clock=rig.clock, step=0.25)) == "ok"
    (span,) = rig.spans()
    assert span.name == "pm CreateWorkItem"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == INSTRUMENTATION_SCOPE
    assert span.instrumentation_scope.version == __version__
    assert dict(span.attributes or {}) == {
        "rpc.system": "pm-ws",
        "rpc.method": "CreateWorkItem",
        "server.address": "127.0.0.1",
        "server.port": 8765,
        "pm.attempts": 1,
        "pm.circuit.state": "Closed",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.events == ()
    scope, (point,) = rig.metrics()[METRIC_OPERATION_DURATION]
    assert (scope.name, scope.version) == (INSTRUMENTATION_SCOPE, __version__)
    assert dict(point.attributes) == {"rpc.method": "CreateWorkItem"}
    assert point.count == 1
    assert point.sum == pytest.approx(0.25)  # measured on the injected clock


async def test_retried_away_errors_are_events_not_the_operations_error() -> None:
    rig = Rig()
    first, second = ConnectionException(), ServerRejectedException(ErrorCode.SERVICE_UNAVAILABLE, "busy")
    assert await rig.call("GetWorkItem", script(first, second)) == "ok"
    (span,) = rig.spans()
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (span.attributes or {})
    assert span.attributes is not None
    assert span.attributes["pm.attempts"] == 3
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        (EVENT_RETRY, {"attempt": 1, "delay_s": pytest.approx(0.1), "error.type": "ConnectionException"}),
        (EVENT_RETRY, {"attempt": 2, "delay_s": pytest.approx(0.2), "error.type": "SERVICE_UNAVAILABLE"}),
    ]
    retries = {
        p.attributes["error.type"]: (p.value, p.attributes["rpc.method"])
        for p in rig.points(METRIC_RETRY_ATTEMPTS)
    }
    assert retries == {"ConnectionException": (1, "GetWorkItem"), "SERVICE_UNAVAILABLE": (1, "GetWorkItem")}
    (duration,) = rig.points(METRIC_OPERATION_DURATION)
    assert "error.type" not in duration.attributes


async def test_failed_operation_sets_error_and_reraises_unchanged() -> None:
    rig = Rig()
    final = ServerRejectedException(ErrorCode.NOT_FOUND, "no such item")
    with pytest.raises(ServerRejectedException) as raised:
        await rig.call("DeleteWorkItem", script(final))
    assert raised.value is final
    (span,) = rig.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "NOT_FOUND"
    assert span.attributes["pm.attempts"] == 1
    assert [e.name for e in span.events] == ["exception"]
    (duration,) = rig.points(METRIC_OPERATION_DURATION)
    assert dict(duration.attributes) == {"rpc.method": "DeleteWorkItem", "error.type": "NOT_FOUND"}


async def test_rejected_call_records_event_counter_and_zero_attempts() -> None:
    rig = Rig()
    rig.breaker.isolate()
    with pytest.raises(CircuitOpenException):
        await rig.call("UpdateWorkItem", script())
    (span,) = rig.spans()
    assert [e.name for e in span.events if e.name != "exception"] == [EVENT_CIRCUIT_REJECTED]
    assert span.attributes is not None
    assert span.attributes["pm.attempts"] == 0
    assert span.attributes["pm.circuit.state"] == "Open"
    assert span.attributes["error.type"] == "CircuitOpenException"
    (rejections,) = rig.points(METRIC_CIRCUIT_REJECTIONS)
    assert (rejections.value, dict(rejections.attributes)) == (1, {"rpc.method": "UpdateWorkItem"})


async def test_circuit_transitions_are_counted_by_from_and_to() -> None:
    rig = Rig()
    for _ in range(2):  # threshold 2, each call exhausts its 3 attempts as one breaker failure
        with pytest.raises(ConnectionException):
            await rig.call("GetSprints", script(*(ConnectionException() for _ in range(3))))
    rig.clock.advance(30)
    await rig.call("GetSprints", script())  # the probe succeeds and closes (threshold 1)
    transitions = {
        (p.attributes["pm.circuit.from"], p.attributes["pm.circuit.to"]): p.value
        for p in rig.points(METRIC_CIRCUIT_TRANSITIONS)
    }
    assert transitions == {("Closed", "Open"): 1, ("Open", "HalfOpen"): 1, ("HalfOpen", "Closed"): 1}


async def test_successes_fire_no_counters() -> None:
    rig = Rig()
    for _ in range(10):
        await rig.call("GetWorkItem", script())
    names = set(rig.metrics())
    assert names.isdisjoint({METRIC_RETRY_ATTEMPTS, METRIC_CIRCUIT_TRANSITIONS, METRIC_CIRCUIT_REJECTIONS})
    (duration,) = rig.points(METRIC_OPERATION_DURATION)
    assert duration.count == 10


async def test_unsampled_spans_still_feed_metrics() -> None:
    rig = Rig(sampler=ALWAYS_OFF)
    await rig.call("GetWorkItem", script(ConnectionException()))
    assert rig.spans() == []
    (retry,) = rig.points(METRIC_RETRY_ATTEMPTS)
    assert retry.value == 1


async def test_concurrent_operations_keep_their_own_attempt_counts() -> None:
    rig = Rig()
    gates = [asyncio.Event(), asyncio.Event()]

    async def first() -> str:
        await gates[0].wait()
        return "first"

    calls = 0

    async def second() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionException()
        gates[0].set()
        return "second"

    async with asyncio.timeout(5):
        results = await asyncio.gather(rig.call("A", first), rig.call("B", second))
    assert results == ["first", "second"]
    attempts = {s.name: (s.attributes or {})["pm.attempts"] for s in rig.spans()}
    assert attempts == {"pm A": 1, "pm B": 2}
    events = {s.name: [e.name for e in s.events] for s in rig.spans()}
    assert events == {"pm A": [], "pm B": [EVENT_RETRY]}


class _SeenBySampler(Sampler):
    """Samples everything and keeps the attributes each span was started with."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def should_sample(
        self, parent_context, trace_id, name, kind=None, attributes=None, links=None, trace_state=None
    ) -> SamplingResult:
        self.seen.append(dict(attributes or {}))
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "seen-by-sampler"


async def test_span_starts_with_its_attributes_and_ends_with_the_final_ones() -> None:
    sampler = _SeenBySampler()
    rig = Rig(sampler=sampler)
    rig.breaker.record_failure()
    rig.breaker.record_failure()  # Open (threshold 2)
    rig.clock.advance(30)  # due: the call starts HalfOpen, and its success closes the breaker
    assert await rig.call("GetWorkItems", script(ConnectionException())) == "ok"
    assert sampler.seen == [
        {
            "rpc.system": "pm-ws",
            "rpc.method": "GetWorkItems",
            "server.address": "127.0.0.1",
            "server.port": 8765,
            "pm.attempts": 1,
            "pm.circuit.state": "HalfOpen",
        }
    ]
    (span,) = rig.spans()
    assert span.attributes is not None
    assert (span.attributes["pm.attempts"], span.attributes["pm.circuit.state"]) == (2, "Closed")


async def test_events_land_on_the_operation_span_even_under_a_span_opened_inside() -> None:
    rig = Rig()
    with (
        rig.telemetry.start_operation_span("GetSprints", circuit=rig.breaker),
        rig.tracer.start_as_current_span("caller's own"),
    ):
        await rig.retry.execute(script(ConnectionException()), operation_name="GetSprints")
    spans = {s.name: s for s in rig.spans()}
    assert [e.name for e in spans["pm GetSprints"].events] == [EVENT_RETRY]
    assert spans["caller's own"].events == ()
    assert spans["caller's own"].parent is not None
    assert spans["caller's own"].parent.span_id == spans["pm GetSprints"].context.span_id
    assert (spans["pm GetSprints"].attributes or {})["pm.attempts"] == 2


async def test_the_operation_span_is_current_inside_even_when_sampled_out() -> None:
    for sampler, sampled in ((None, True), (ALWAYS_OFF, False)):
        rig = Rig(sampler=sampler)
        with rig.telemetry.start_operation_span("ListProjects") as span:
            current = trace.get_current_span()
        assert current is span
        assert span.get_span_context().is_valid
        assert span.get_span_context().trace_flags.sampled is sampled
        assert trace.get_current_span() is not span


def test_explicit_no_op_providers_make_an_inert_instance_the_global_proxies_do_not() -> None:
    inert = PmTelemetry(NoOpTracerProvider(), NoOpMeterProvider())
    assert not inert.enabled  # nothing reported through it could ever be recorded
    with inert.start_operation_span("X") as span:
        assert span is trace.INVALID_SPAN
    # The global providers are proxies an SDK installed later takes over: never decided up front.
    assert PmTelemetry().enabled


def test_operation_labels_are_cached_per_name_and_bounded() -> None:
    rig = Rig()
    for i in range(300):
        with rig.telemetry.start_operation_span(f"Op{i % 3}"):
            pass
    for i in range(300):
        with rig.telemetry.start_operation_span(f"Distinct{i}"):
            pass
    assert len(rig.spans()) == 600
    assert len(rig.telemetry._labels) == 256  # the first names; later ones are built per call
    assert {s.name for s in rig.spans()[-2:]} == {"pm Distinct298", "pm Distinct299"}


# -- gauge, connection and reconnection -----------------------------------------------------------


def test_state_gauge_reads_observed_breakers_without_side_effects() -> None:
    rig = Rig()
    changes: list[object] = []
    rig.breaker.on_state_changed += changes.append

    def gauge() -> dict[str, int]:
        return {p.attributes["pm.circuit.name"]: p.value for p in rig.points(METRIC_CIRCUIT_STATE)}

    assert gauge() == {"pm": 0}
    rig.breaker.record_failure()
    rig.breaker.record_failure()
    assert gauge() == {"pm": 2}
    rig.clock.advance(30)
    assert gauge() == {"pm": 1}
    assert len(changes) == 1  # observing did not perform the Open -> HalfOpen transition
    other = CircuitBreaker(name="other", clock=rig.clock, telemetry=rig.telemetry)
    assert gauge() == {"pm": 1, "other": 0}
    # Held weakly: once the last strong reference goes, the breaker is freed and leaves the gauge.
    # No gc.collect(): a breaker holds no reference cycle, and a full collection here would finalize
    # (and report as this test's failure) whatever garbage earlier tests happened to leave behind.
    other_alive = weakref.ref(other)
    del other
    assert other_alive() is None
    assert gauge() == {"pm": 1}


async def test_reconnect_span_with_attempt_events_and_outcome_counter() -> None:
    rig = Rig()
    with rig.telemetry.start_reconnect_span() as span:
        rig.telemetry.record_reconnect_attempt("failure", 1)
        rig.telemetry.record_reconnect_attempt("success", 2)
        span.set_attribute("pm.resubscribed", 3)
    (finished,) = rig.spans()
    assert finished.name == "pm reconnect"
    assert [(e.name, dict(e.attributes or {})) for e in finished.events] == [
        (EVENT_RECONNECT_ATTEMPT, {"outcome": "failure", "attempt": 1}),
        (EVENT_RECONNECT_ATTEMPT, {"outcome": "success", "attempt": 2}),
    ]
    assert finished.attributes is not None
    assert finished.attributes["pm.resubscribed"] == 3
    outcomes = {p.attributes["outcome"]: p.value for p in rig.points(METRIC_RECONNECTION_ATTEMPTS)}
    assert outcomes == {"failure": 1, "success": 1}


def test_rtt_histogram_and_dropped_frames_counter() -> None:
    rig = Rig()
    rig.telemetry.record_rtt(0.012)
    rig.telemetry.record_rtt(0.030)
    rig.telemetry.record_frame_dropped("malformed")
    rig.telemetry.record_frame_dropped("malformed")
    rig.telemetry.record_frame_dropped("oversized")
    (rtt,) = rig.points(METRIC_CONNECTION_RTT)
    assert (rtt.count, rtt.sum) == (2, pytest.approx(0.042))
    dropped = {p.attributes["reason"]: p.value for p in rig.points(METRIC_FRAMES_DROPPED)}
    assert dropped == {"malformed": 2, "oversized": 1}


# -- the disabled default -------------------------------------------------------------------------


async def test_disabled_telemetry_is_a_shared_do_nothing_default() -> None:
    disabled = PmTelemetry.disabled()
    assert disabled is PmTelemetry.disabled()
    assert not disabled.enabled
    error = ConnectionException()

    def fail_inside_span() -> None:
        with disabled.start_operation_span("X") as span:
            assert not span.is_recording()
            disabled.record_retry("X", 1, 0.1, "ConnectionException")
            disabled.record_attempts(2)
            raise error

    with pytest.raises(ConnectionException) as raised:
        fail_inside_span()
    assert raised.value is error
    with disabled.start_reconnect_span() as span:
        assert not span.is_recording()
    # Components built without telemetry use it, and work.
    breaker = CircuitBreaker()
    retry = RetryPolicy(sleep=FakeClock().sleep)
    assert await breaker.execute(lambda: retry.execute(script())) == "ok"


def test_spans_go_only_to_the_given_provider() -> None:
    before = trace.get_tracer_provider()
    rig = Rig()
    with rig.telemetry.start_operation_span("GetWorkItem"):
        pass
    assert trace.get_tracer_provider() is before
    assert len(rig.spans()) == 1


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ConnectionException(), "ConnectionException"),
        (ServerRejectedException(ErrorCode.TIMEOUT), "TIMEOUT"),
        (CircuitOpenException(timedelta(seconds=1)), "CircuitOpenException"),
        (asyncio.CancelledError(), "CancelledError"),
    ],
)
def test_error_type_is_low_cardinality(exc: BaseException, expected: str) -> None:
    assert error_type(exc) == expected
