"""OpenTelemetry for the pm-ws client: instrument names in one place, and the options to export them.

Only ``opentelemetry-api`` is touched on the hot path; with no SDK configured the API's no-op
providers make every call next to free. ``PmTelemetry`` is the one object the components report
through (design.md section 8); ``PmTelemetry.disabled()`` is the free default for components
built without one.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Final, Literal, Protocol

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from pydantic import Field

from projectmanagement_core.exceptions import ServerRejectedException
from projectmanagement_services import __version__
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


def span_name(operation: str) -> str:
    """Low-cardinality span name: ``pm CreateWorkItem`` (never an id)."""
    return f"pm {operation}"


class TelemetryOptions(OptionsModel):
    """Where telemetry goes (appsettings ``Telemetry``). ``none`` leaves the host's providers alone."""

    service_name: str = Field(default="pm-client", min_length=1)
    exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str = "http://127.0.0.1:4318"
    resource_attributes: dict[str, str] = Field(default_factory=dict)


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


class _OperationScope:
    """Per-operation facts gathered while the span is open (set by the retry policy)."""

    __slots__ = ("attempts",)

    def __init__(self) -> None:
        self.attempts = 0


class PmTelemetry:
    """The one object the components report through: spans, span events and metrics of design.md 8.

    Tracer and meter are obtained once, from the given providers or the global ones, under
    ``INSTRUMENTATION_SCOPE`` and the package version; instruments are created once. Attributes
    are built only for recording spans, and counters fire on events (a retry, a transition, a
    rejection), never on a plain success. Span events go to the *current* span, so that a retry
    inside ``start_operation_span`` lands on that operation's span.

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
        self._scope: ContextVar[_OperationScope | None] = ContextVar("pm_operation_scope", default=None)
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

    @classmethod
    def disabled(cls) -> PmTelemetry:
        """The shared do-nothing instance (no tracer, no meter, no allocation per call)."""
        return _DISABLED

    @property
    def enabled(self) -> bool:
        return True

    # -- operations ----------------------------------------------------------------------------

    @contextmanager
    def start_operation_span(
        self, operation: str, *, circuit: ObservableCircuit | None = None
    ) -> Iterator[Span]:
        """Span (kind CLIENT) and duration metric around one resilient operation.

        Wrap ``breaker.execute(lambda: retry.execute(...))`` in it: the retry policy's
        ``record_attempts`` lands in ``pm.attempts`` (0 when the breaker rejected the call) and
        ``circuit``'s state at the end in ``pm.circuit.state``. An exception sets status ERROR and
        ``error.type`` and propagates unchanged; errors retried away never reach it.
        """
        span = self._tracer.start_span(span_name(operation), kind=SpanKind.CLIENT)
        recording = span.is_recording()
        if recording:
            span.set_attribute(ATTR_RPC_SYSTEM, RPC_SYSTEM)
            span.set_attribute(ATTR_RPC_METHOD, operation)
            if self._server_address is not None:
                span.set_attribute(ATTR_SERVER_ADDRESS, self._server_address)
            if self._server_port is not None:
                span.set_attribute(ATTR_SERVER_PORT, self._server_port)
        scope = _OperationScope()
        token = self._scope.set(scope)
        started = self._clock()
        failure: str | None = None
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                yield span
        except BaseException as exc:
            failure = error_type(exc)
            if recording:
                span.set_status(Status(StatusCode.ERROR))
                span.set_attribute(ATTR_ERROR_TYPE, failure)
                span.record_exception(exc, escaped=True)
            raise
        finally:
            self._scope.reset(token)
            if recording:
                span.set_attribute(ATTR_PM_ATTEMPTS, scope.attempts)
                if circuit is not None:
                    span.set_attribute(ATTR_CIRCUIT_STATE, circuit.peek_state())
            span.end()
            self.record_operation_duration(operation, self._clock() - started, failure)

    def record_operation_duration(
        self, operation: str, seconds: float, error_type: str | None = None
    ) -> None:
        attributes = {ATTR_RPC_METHOD: operation}
        if error_type is not None:
            attributes[ATTR_ERROR_TYPE] = error_type
        self._duration.record(seconds, attributes)

    def record_attempts(self, attempts: int) -> None:
        """How many attempts the current operation made (read by ``start_operation_span``)."""
        scope = self._scope.get()
        if scope is not None:
            scope.attempts = attempts

    def record_retry(self, operation: str, attempt: int, delay_s: float, error_type: str) -> None:
        """Attempt ``attempt`` failed with a transient ``error_type``; next try in ``delay_s``."""
        span = trace.get_current_span()
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
        """The breaker refused a call: a ``pm.circuit.rejected`` event on the current span + counter."""
        span = trace.get_current_span()
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


class _DisabledTelemetry(PmTelemetry):
    """Every method a no-op: what components use when no telemetry was injected."""

    def __init__(self) -> None:  # deliberately no tracer, meter or instruments
        self._null_span: AbstractContextManager[Span] = nullcontext(trace.INVALID_SPAN)

    @property
    def enabled(self) -> bool:
        return False

    def start_operation_span(  # type: ignore[override]
        self, operation: str, *, circuit: ObservableCircuit | None = None
    ) -> AbstractContextManager[Span]:
        return self._null_span

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
        return self._null_span

    def record_reconnect_attempt(self, outcome: str, attempt: int | None = None) -> None:
        pass

    def record_rtt(self, seconds: float) -> None:
        pass

    def record_frame_dropped(self, reason: str) -> None:
        pass


_DISABLED: Final[PmTelemetry] = _DisabledTelemetry()
