"""OpenTelemetry for the pm-ws client: instrument names in one place, and the options to export them.

Only ``opentelemetry-api`` is touched on the hot path; with no SDK configured the API's no-op
providers make every call next to free. ``PmTelemetry`` is the one object the components report
through (design.md section 8); ``PmTelemetry.disabled()`` is the free default for components
built without one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Final, Literal, Protocol

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, NoOpMeter, Observation
from opentelemetry.trace import NoOpTracer, Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue
from pydantic import Field

from projectmanagement_core.exceptions import ServerRejectedException
from projectmanagement_services._version import __version__
from projectmanagement_services.clock import MonotonicClock, default_clock
from projectmanagement_services.options_base import OptionsModel

__all__ = [
    "ATTR_CIRCUIT_FROM",
    "ATTR_CIRCUIT_NAME",
    "ATTR_CIRCUIT_STATE",
    "ATTR_CIRCUIT_TO",
    "ATTR_ERROR_TYPE",
    "ATTR_OUTCOME",
    "ATTR_PM_ATTEMPTS",
    "ATTR_REASON",
    "ATTR_RESUBSCRIBED",
    "ATTR_RESYNCED_ITEMS",
    "ATTR_RETRY_ATTEMPT",
    "ATTR_RETRY_DELAY_S",
    "ATTR_RPC_METHOD",
    "ATTR_RPC_SYSTEM",
    "ATTR_SERVER_ADDRESS",
    "ATTR_SERVER_PORT",
    "CIRCUIT_STATE_VALUES",
    "EVENT_CIRCUIT_REJECTED",
    "EVENT_RECONNECT_ATTEMPT",
    "EVENT_RETRY",
    "INSTRUMENTATION_SCOPE",
    "METRIC_CIRCUIT_REJECTIONS",
    "METRIC_CIRCUIT_STATE",
    "METRIC_CIRCUIT_TRANSITIONS",
    "METRIC_CONNECTION_RTT",
    "METRIC_FRAMES_DROPPED",
    "METRIC_OPERATION_DURATION",
    "METRIC_RATELIMIT_CLOSES",
    "METRIC_RATELIMIT_REFUSALS",
    "METRIC_RATELIMIT_WAIT",
    "METRIC_RECONNECTION_ATTEMPTS",
    "METRIC_RETRY_ATTEMPTS",
    "RPC_SYSTEM",
    "SPAN_RECONNECT",
    "ObservableCircuit",
    "PmTelemetry",
    "TelemetryOptions",
    "error_type",
    "span_name",
]

INSTRUMENTATION_SCOPE: Final = "projectmanagement_services"
RPC_SYSTEM: Final = "pm-ws"

# Span names, events and attributes (design.md section 8).
SPAN_RECONNECT: Final = "pm reconnect"
EVENT_RETRY: Final = "pm.retry"
EVENT_CIRCUIT_REJECTED: Final = "pm.circuit.rejected"
EVENT_RECONNECT_ATTEMPT: Final = "pm.reconnect.attempt"
ATTR_RPC_SYSTEM: Final = "rpc.system"
ATTR_RPC_METHOD: Final = "rpc.method"
ATTR_SERVER_ADDRESS: Final = "server.address"
ATTR_SERVER_PORT: Final = "server.port"
ATTR_PM_ATTEMPTS: Final = "pm.attempts"
ATTR_CIRCUIT_STATE: Final = "pm.circuit.state"
ATTR_CIRCUIT_FROM: Final = "pm.circuit.from"
ATTR_CIRCUIT_TO: Final = "pm.circuit.to"
ATTR_CIRCUIT_NAME: Final = "pm.circuit.name"
ATTR_RETRY_ATTEMPT: Final = "attempt"
ATTR_RETRY_DELAY_S: Final = "delay_s"
ATTR_ERROR_TYPE: Final = "error.type"
ATTR_OUTCOME: Final = "outcome"
ATTR_REASON: Final = "reason"
ATTR_RESUBSCRIBED: Final = "pm.resubscribed"
ATTR_RESYNCED_ITEMS: Final = "pm.resynced_items"

# Metric instruments (design.md section 8).
METRIC_OPERATION_DURATION: Final = "pm.client.operation.duration"
METRIC_RETRY_ATTEMPTS: Final = "pm.resilience.retry.attempts"
METRIC_CIRCUIT_TRANSITIONS: Final = "pm.resilience.circuit.transitions"
METRIC_CIRCUIT_REJECTIONS: Final = "pm.resilience.circuit.rejections"
METRIC_CIRCUIT_STATE: Final = "pm.resilience.circuit.state"
METRIC_RECONNECTION_ATTEMPTS: Final = "pm.reconnection.attempts"
METRIC_CONNECTION_RTT: Final = "pm.connection.rtt"
METRIC_FRAMES_DROPPED: Final = "pm.client.frames.dropped"
METRIC_RATELIMIT_WAIT: Final = "pm.ratelimit.wait.duration"
METRIC_RATELIMIT_REFUSALS: Final = "pm.ratelimit.refusals"
METRIC_RATELIMIT_CLOSES: Final = "pm.ratelimit.closes"


def span_name(operation: str) -> str:
    """Low-cardinality span name: ``pm CreateWorkItem`` (never an id)."""
    return f"pm {operation}"


class TelemetryOptions(OptionsModel):
    """Where telemetry goes (appsettings ``Telemetry``). ``none`` leaves the host's providers alone."""

    service_name: str = Field(default="pm-client", min_length=1)
    exporter: Literal["none", "console", "otlp", "prometheus"] = "none"
    otlp_endpoint: str = "http://127.0.0.1:4318"
    #: Loopback port of the ``prometheus`` exporter's ``/metrics`` (9464: OpenTelemetry's usual
    #: Prometheus port); 0 lets the OS choose (tests read the bound port back).
    prometheus_port: int = Field(default=9464, ge=0, le=65535)
    resource_attributes: dict[str, str] = Field(default_factory=dict)
    #: Share of traces recorded (parent-based: a span with a parent follows the parent's decision).
    #: Spans cost most of telemetry's overhead; the operation histogram counts every call anyway.
    sampling_ratio: float = Field(default=1.0, ge=0.0, le=1.0, allow_inf_nan=False)


#: ``pm.resilience.circuit.state`` gauge values, keyed by ``CircuitState`` value.
CIRCUIT_STATE_VALUES: Final = {"Closed": 0, "HalfOpen": 1, "Open": 2}


class ObservableCircuit(Protocol):
    """What the state gauge reads from a breaker (``CircuitBreaker`` satisfies it)."""

    @property
    def name(self) -> str: ...

    def peek_state(self) -> str: ...


def error_type(exc: BaseException) -> str:
    """Low-cardinality ``error.type``: a server answer's code, else the exception's class name."""
    if isinstance(exc, ServerRejectedException):
        return exc.code
    return type(exc).__qualname__


#: What a span context manager yields when nothing is recorded: shared, reusable, allocation-free.
_NULL_SPAN: Final[AbstractContextManager[Span]] = nullcontext(trace.INVALID_SPAN)

# Module constant: an enum class-attribute lookup costs ~0.2 us on Python 3.11, per call.
_CLIENT: Final = SpanKind.CLIENT
#: What the API's no-op tracer returns when no span is current (no SDK): nothing to attach.
_NO_SPAN: Final = trace.INVALID_SPAN

#: ``pm.attempts`` as an operation's span starts; the retry policy reports the final count.
_FIRST_ATTEMPT: Final = 1

#: Operation names whose labels are cached; beyond it (names are low-cardinality by contract, like
#: span names) labels are built per call instead of growing the cache without bound.
_MAX_CACHED_OPERATIONS: Final = 256


class _OperationLabels:
    """What never changes between calls of one operation, built once: span name and attribute dicts.

    The dicts are shared by every call and never mutated (the SDK copies what it keeps).
    """

    __slots__ = ("_static", "metric_attributes", "name", "span_name", "start_attributes")

    def __init__(self, operation: str, server_address: str | None, server_port: int | None) -> None:
        self.name = operation
        self.span_name = span_name(operation)
        static: dict[str, AttributeValue] = {ATTR_RPC_SYSTEM: RPC_SYSTEM, ATTR_RPC_METHOD: operation}
        if server_address is not None:
            static[ATTR_SERVER_ADDRESS] = server_address
        if server_port is not None:
            static[ATTR_SERVER_PORT] = server_port
        self._static = static
        #: The span's attributes as it starts, by the breaker's state then (None: no breaker).
        self.start_attributes: dict[str | None, dict[str, AttributeValue]] = {}
        self.metric_attributes: dict[str, AttributeValue] = {ATTR_RPC_METHOD: operation}

    def add_start_attributes(self, circuit_state: str | None) -> dict[str, AttributeValue]:
        """Static attributes, one attempt, the breaker's state: one dict per state, three at most."""
        attributes = {**self._static, ATTR_PM_ATTEMPTS: _FIRST_ATTEMPT}
        if circuit_state is not None:
            attributes[ATTR_CIRCUIT_STATE] = str(circuit_state)
        self.start_attributes[circuit_state] = attributes
        return attributes


class _OperationSpan:
    """One resilient operation in flight: its span, the attempts reported for it, its start time.

    A small class rather than a ``@contextmanager`` generator: it runs on every operation. It is
    also the operation's scope (``PmTelemetry._scope``) through which the retry policy and the
    breaker, deeper in the same task, report attempts and events onto this very span.

    Every attribute goes in with ``start_span`` (one copy, no ``set_attribute`` per attribute):
    ``pm.attempts`` as the first attempt begins and ``pm.circuit.state`` as the breaker stands
    then. At the end, a recording span gets one ``set_attributes`` with the final values only when
    they differ (a retry, a rejection, a state change) or the operation failed; a plain success
    sets nothing more.
    """

    __slots__ = (
        "_circuit",
        "_circuit_state",
        "_context_token",
        "_labels",
        "_recording",
        "_scope_token",
        "_started",
        "_telemetry",
        "attempts",
        "span",
    )
    # Set by __enter__; only __exit__ reads them.
    _circuit_state: str | None
    _recording: bool
    _context_token: Token[context.Context] | None
    _scope_token: Token[_OperationSpan | None]
    _started: float
    span: Span

    def __init__(
        self, telemetry: PmTelemetry, labels: _OperationLabels, circuit: ObservableCircuit | None
    ) -> None:
        self._telemetry = telemetry
        self._labels = labels
        self._circuit = circuit
        self.attempts = 0  # stays 0 when no retry policy reports (a rejected call, a ping)

    def __enter__(self) -> Span:
        telemetry = self._telemetry
        labels = self._labels
        state = None if self._circuit is None else self._circuit.peek_state()
        self._circuit_state = state
        attributes = labels.start_attributes.get(state) or labels.add_start_attributes(state)
        self.span = span = telemetry._tracer.start_span(labels.span_name, kind=_CLIENT, attributes=attributes)
        # Made current only when it carries a trace (recording, or sampled out by an SDK), so that
        # anything started inside joins it; with no SDK the span is INVALID_SPAN and nothing is
        # attached. Our own events do not depend on it: they find the span through the scope.
        if span.is_recording():
            self._recording = True
            self._context_token = context.attach(trace.set_span_in_context(span))
        else:
            self._recording = False
            self._context_token = (
                None
                if span is _NO_SPAN or not span.get_span_context().is_valid
                else context.attach(trace.set_span_in_context(span))
            )
        self._scope_token = telemetry._scope.set(self)
        self._started = telemetry._clock()
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        telemetry = self._telemetry
        elapsed = telemetry._clock() - self._started
        telemetry._scope.reset(self._scope_token)
        if self._context_token is not None:
            context.detach(self._context_token)
        span = self.span
        if exc is None:
            if self._recording:
                circuit = self._circuit
                if self.attempts != _FIRST_ATTEMPT or (
                    circuit is not None and circuit.peek_state() != self._circuit_state
                ):
                    span.set_attributes(self._final_attributes())
            span.end()
            telemetry._duration.record(elapsed, self._labels.metric_attributes)
            return
        failure = error_type(exc)
        if self._recording:
            attributes = self._final_attributes()
            attributes[ATTR_ERROR_TYPE] = failure
            span.set_status(Status(StatusCode.ERROR))
            span.set_attributes(attributes)
            span.record_exception(exc, escaped=True)
        span.end()
        telemetry._duration.record(elapsed, {ATTR_RPC_METHOD: self._labels.name, ATTR_ERROR_TYPE: failure})

    def _final_attributes(self) -> dict[str, AttributeValue]:
        """``pm.attempts`` and the breaker's state as the operation ends."""
        if self._circuit is None:
            return {ATTR_PM_ATTEMPTS: self.attempts}
        return {ATTR_PM_ATTEMPTS: self.attempts, ATTR_CIRCUIT_STATE: str(self._circuit.peek_state())}


class PmTelemetry:
    """The one object the components report through: spans, span events and metrics of design.md 8.

    Tracer and meter are obtained once, from the given providers or the global ones, under
    ``INSTRUMENTATION_SCOPE`` and the package version; instruments are created once, and so are
    each operation's span name and attribute dicts (on its first call). A plain success costs one
    span started with all its attributes, one histogram record, and nothing else; counters fire
    on events (a retry, a transition, a rejection), never on a plain success. Retry and rejection
    events go to the span of the operation in flight in this task (held in a ``ContextVar`` of our
    own), else to the current span.

    Explicit no-op providers (``NoOpTracerProvider`` and ``NoOpMeterProvider``, or an SDK disabled
    by ``OTEL_SDK_DISABLED``) can never record: such an instance reports ``enabled`` False and
    ``start_operation_span`` does nothing, so the resilient client skips telemetry altogether. The
    global providers (the default) are proxies that delegate to an SDK a host may install later:
    they keep the instance enabled, and with no SDK behind them an operation costs a non-recording
    span (nothing attached, no attribute set) and a no-op histogram record.

    ``PmTelemetry.disabled()`` returns a shared instance whose every method does nothing: the
    default of components built without telemetry.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        *,
        server_address: str | None = None,
        server_port: int | None = None,
        clock: MonotonicClock = default_clock,
    ) -> None:
        self._tracer = trace.get_tracer(INSTRUMENTATION_SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider)
        self._server_address = server_address
        self._server_port = server_port
        self._clock = clock
        self._scope: ContextVar[_OperationSpan | None] = ContextVar("pm_operation_scope", default=None)
        self._labels: dict[str, _OperationLabels] = {}
        self._enabled = not (isinstance(self._tracer, NoOpTracer) and isinstance(meter, NoOpMeter))
        self._breakers: weakref.WeakSet[ObservableCircuit] = weakref.WeakSet()

        self._duration = meter.create_histogram(
            METRIC_OPERATION_DURATION, unit="s", description="Duration of resilient operations"
        )
        self._retries = meter.create_counter(
            METRIC_RETRY_ATTEMPTS, unit="{attempt}", description="Retries after a transient error"
        )
        self._transitions = meter.create_counter(
            METRIC_CIRCUIT_TRANSITIONS, unit="{transition}", description="Circuit breaker state changes"
        )
        self._rejections = meter.create_counter(
            METRIC_CIRCUIT_REJECTIONS, unit="{call}", description="Calls rejected by the circuit breaker"
        )
        meter.create_observable_gauge(
            METRIC_CIRCUIT_STATE,
            callbacks=[self._observe_circuits],
            unit="1",
            description="Circuit breaker state: 0 closed, 1 half-open, 2 open",
        )
        self._reconnects = meter.create_counter(
            METRIC_RECONNECTION_ATTEMPTS, unit="{attempt}", description="Reconnection attempts by outcome"
        )
        self._rtt = meter.create_histogram(
            METRIC_CONNECTION_RTT, unit="s", description="Heartbeat round-trip time"
        )
        self._dropped = meter.create_counter(
            METRIC_FRAMES_DROPPED, unit="{frame}", description="Inbound frames dropped, by reason"
        )
        self._ratelimit_wait = meter.create_histogram(
            METRIC_RATELIMIT_WAIT, unit="s", description="Time a send waited for a rate-limit token"
        )
        self._ratelimit_refusals = meter.create_counter(
            METRIC_RATELIMIT_REFUSALS, unit="{frame}", description="Frames the server refused (warnings)"
        )
        self._ratelimit_closes = meter.create_counter(
            METRIC_RATELIMIT_CLOSES, unit="{close}", description="Connections closed 1008 for rate limiting"
        )

    @classmethod
    def disabled(cls) -> PmTelemetry:
        """The shared do-nothing instance (no tracer, no meter, no allocation per call)."""
        return _DISABLED

    @property
    def enabled(self) -> bool:
        """False when nothing reported here can ever be recorded (callers may skip reporting)."""
        return self._enabled

    # -- operations ----------------------------------------------------------------------------

    def start_operation_span(
        self, operation: str, *, circuit: ObservableCircuit | None = None
    ) -> AbstractContextManager[Span]:
        """Span (kind CLIENT) and duration metric around one resilient operation.

        Wrap ``breaker.execute(lambda: retry.execute(...))`` in it: the retry policy's
        ``record_attempts`` lands in ``pm.attempts`` (0 when the breaker rejected the call) and
        ``circuit``'s state at the end in ``pm.circuit.state``. An exception sets status ERROR and
        ``error.type`` and propagates unchanged; errors retried away never reach it.
        """
        if not self._enabled:
            return _NULL_SPAN
        return _OperationSpan(self, self._labels.get(operation) or self._new_labels(operation), circuit)

    def _new_labels(self, operation: str) -> _OperationLabels:
        labels = _OperationLabels(operation, self._server_address, self._server_port)
        if len(self._labels) < _MAX_CACHED_OPERATIONS:
            self._labels[operation] = labels
        return labels

    def record_operation_duration(
        self, operation: str, seconds: float, error_type: str | None = None
    ) -> None:
        if error_type is None:
            labels = self._labels.get(operation) or self._new_labels(operation)
            self._duration.record(seconds, labels.metric_attributes)
        else:
            self._duration.record(seconds, {ATTR_RPC_METHOD: operation, ATTR_ERROR_TYPE: error_type})

    def record_attempts(self, attempts: int) -> None:
        """How many attempts the current operation made (read by ``start_operation_span``)."""
        scope = self._scope.get()
        if scope is not None:
            scope.attempts = attempts

    def _event_span(self) -> Span:
        """The span an event belongs to: the operation's in flight, else whatever is current."""
        scope = self._scope.get()
        return scope.span if scope is not None else trace.get_current_span()

    def record_retry(self, operation: str, attempt: int, delay_s: float, error_type: str) -> None:
        """Attempt ``attempt`` failed with a transient ``error_type``; next try in ``delay_s``."""
        span = self._event_span()
        if span.is_recording():
            span.add_event(
                EVENT_RETRY,
                {ATTR_RETRY_ATTEMPT: attempt, ATTR_RETRY_DELAY_S: delay_s, ATTR_ERROR_TYPE: error_type},
            )
        self._retries.add(1, {ATTR_RPC_METHOD: operation, ATTR_ERROR_TYPE: error_type})

    # -- circuit breaker -----------------------------------------------------------------------

    def record_circuit_transition(self, previous: str, current: str) -> None:
        self._transitions.add(1, {ATTR_CIRCUIT_FROM: str(previous), ATTR_CIRCUIT_TO: str(current)})

    def record_circuit_rejection(self, operation: str | None) -> None:
        """The breaker refused a call: a ``pm.circuit.rejected`` event on the operation's span + counter."""
        span = self._event_span()
        if span.is_recording():
            span.add_event(EVENT_CIRCUIT_REJECTED)
        self._rejections.add(1, {ATTR_RPC_METHOD: operation} if operation is not None else None)

    def observe_breaker(self, breaker: ObservableCircuit) -> None:
        """Report ``breaker``'s state in the gauge for as long as it lives (held weakly)."""
        self._breakers.add(breaker)

    def _observe_circuits(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(CIRCUIT_STATE_VALUES[str(b.peek_state())], {ATTR_CIRCUIT_NAME: b.name})
            for b in list(self._breakers)
        ]

    # -- connection ----------------------------------------------------------------------------

    def start_reconnect_span(self) -> AbstractContextManager[Span]:
        """The ``pm reconnect`` span of one outage; set ``pm.resubscribed``/``pm.resynced_items`` on it."""
        return self._tracer.start_as_current_span(SPAN_RECONNECT, kind=SpanKind.CLIENT)

    def record_reconnect_attempt(self, outcome: str, attempt: int | None = None) -> None:
        """One reconnect attempt ended with ``outcome``: an event on the current span + counter."""
        span = trace.get_current_span()
        if span.is_recording():
            attributes: dict[str, str | int] = {ATTR_OUTCOME: outcome}
            if attempt is not None:
                attributes[ATTR_RETRY_ATTEMPT] = attempt
            span.add_event(EVENT_RECONNECT_ATTEMPT, attributes)
        self._reconnects.add(1, {ATTR_OUTCOME: outcome})

    def record_rtt(self, seconds: float) -> None:
        self._rtt.record(seconds)

    def record_frame_dropped(self, reason: str) -> None:
        self._dropped.add(1, {ATTR_REASON: reason})

    # -- rate limit ----------------------------------------------------------------------------

    def record_rate_limit_wait(self, operation: str, seconds: float) -> None:
        """A send waited ``seconds`` for its token (recorded only when it did wait)."""
        self._ratelimit_wait.record(seconds, {ATTR_RPC_METHOD: operation})

    def record_rate_limit_refusal(self) -> None:
        self._ratelimit_refusals.add(1)

    def record_rate_limit_close(self) -> None:
        self._ratelimit_closes.add(1)


class _DisabledTelemetry(PmTelemetry):
    """Every method a no-op: what components use when no telemetry was injected."""

    def __init__(self) -> None:  # deliberately no tracer, meter or instruments
        self._enabled = False

    def start_operation_span(
        self, operation: str, *, circuit: ObservableCircuit | None = None
    ) -> AbstractContextManager[Span]:
        return _NULL_SPAN

    def record_operation_duration(
        self, operation: str, seconds: float, error_type: str | None = None
    ) -> None:
        pass

    def record_attempts(self, attempts: int) -> None:
        pass

    def record_retry(self, operation: str, attempt: int, delay_s: float, error_type: str) -> None:
        pass

    def record_circuit_transition(self, previous: str, current: str) -> None:
        pass

    def record_circuit_rejection(self, operation: str | None) -> None:
        pass

    def observe_breaker(self, breaker: ObservableCircuit) -> None:
        pass

    def start_reconnect_span(self) -> AbstractContextManager[Span]:
        return _NULL_SPAN

    def record_reconnect_attempt(self, outcome: str, attempt: int | None = None) -> None:
        pass

    def record_rtt(self, seconds: float) -> None:
        pass

    def record_frame_dropped(self, reason: str) -> None:
        pass

    def record_rate_limit_wait(self, operation: str, seconds: float) -> None:
        pass

    def record_rate_limit_refusal(self) -> None:
        pass

    def record_rate_limit_close(self) -> None:
        pass


_DISABLED: Final[PmTelemetry] = _DisabledTelemetry()
