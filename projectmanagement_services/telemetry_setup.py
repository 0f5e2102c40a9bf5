"""Telemetry export: the OpenTelemetry SDK pipeline built from ``TelemetryOptions``.

Kept apart from ``telemetry.py`` (what the components record, through the OTel API only) because
where data goes is the application's decision, not the instrumentation's. Configuring export is
opt-in: nothing here runs unless called, ``Exporter: none`` builds nothing, and a host application's
own global providers are never replaced.

With ``Exporter: otlp`` and no collector listening, nothing hangs and nothing floods: each export
gives up after ``EXPORT_TIMEOUT_S`` (the exporter's default, 10 s per batch with retries, made a
one-shot command take 30 s to exit), and the exporters' failure logs are reduced to one warning a
pipeline, the rest counted.

The SDK and exporters are imported inside ``configure_telemetry`` so that importing this module (or
the package) costs nothing while telemetry is off.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TextIO

from projectmanagement_services.telemetry import TelemetryOptions

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler

__all__ = [
    "EXPORT_TIMEOUT_S",
    "OTLP_METRICS_PATH",
    "OTLP_TRACES_PATH",
    "PROMETHEUS_HOST",
    "PROMETHEUS_PATH",
    "TelemetryProviders",
    "configure_telemetry",
]

_log = logging.getLogger(__name__)

#: OTLP/HTTP signal paths appended to ``OtlpEndpoint`` (the collector's base URL).
OTLP_TRACES_PATH: Final = "/v1/traces"
OTLP_METRICS_PATH: Final = "/v1/metrics"
#: How long one OTLP export (retries included) may take, and so how long shutdown may flush.
EXPORT_TIMEOUT_S: Final = 1.0
#: Where the OTLP/HTTP exporters log each failed attempt (at WARNING, several lines each).
_OTLP_LOGGERS: Final = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
)
#: The ``prometheus`` exporter listens on loopback only: a scrape target, never a public endpoint.
PROMETHEUS_HOST: Final = "127.0.0.1"
PROMETHEUS_PATH: Final = "/metrics"


@dataclass(frozen=True, slots=True)
class TelemetryProviders:
    """The SDK providers built from settings; hand them to components or the container.

    Attributes:
        tracer_provider: an SDK ``TracerProvider`` with a batch span processor on the exporter.
        meter_provider: an SDK ``MeterProvider`` with a periodic reader on the exporter.
        tracer_provider_is_global: whether it was installed as the process-wide provider.
        meter_provider_is_global: likewise for metrics.
        metrics_url: with ``Exporter: prometheus``, where ``/metrics`` is served (the bound
            port, also when ``PrometheusPort`` is 0); else ``None``.
    """

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    tracer_provider_is_global: bool = False
    meter_provider_is_global: bool = False
    metrics_url: str | None = None
    _stop_serving: Callable[[], None] | None = None
    _quiet_exporters: _ExportFailuresOnce | None = None

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Export everything recorded so far; ``True`` when both signals were flushed in time."""
        spans = self.tracer_provider.force_flush(timeout_millis)
        metrics = self.meter_provider.force_flush(timeout_millis)
        return spans and metrics

    def shutdown(self) -> None:
        """Flush and stop both pipelines (exporter threads and HTTP sessions included)."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=EXPORT_TIMEOUT_S * 1000)
        if self._stop_serving is not None:
            self._stop_serving()
        if self._quiet_exporters is not None:
            self._quiet_exporters.remove()


class _ExportFailuresOnce(logging.Filter):
    """On the OTLP exporters' loggers: the first failure becomes one line, later ones are counted."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self._endpoint = endpoint
        self.suppressed = 0
        self._warned = False
        for name in _OTLP_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        if self._warned:
            self.suppressed += 1
            return False
        self._warned = True
        record.msg = (
            "telemetry: cannot export to the OTLP collector at %s; dropping what cannot be sent (warned once)"
        )
        record.args = (self._endpoint,)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True

    def remove(self) -> None:
        for name in _OTLP_LOGGERS:
            logging.getLogger(name).removeFilter(self)


def configure_telemetry(
    options: TelemetryOptions,
    *,
    set_global: bool = False,
    service_version: str | None = None,
    console_out: TextIO | None = None,
) -> TelemetryProviders | None:
    """Build the tracer and meter providers that ``options`` ask for.

    Args:
        options: the ``Telemetry`` settings section.
        set_global: also install the providers as the OTel globals, but only where the global is
            still the API's default (proxy or no-op): a host application's configured providers are
            kept and a warning is logged.
        service_version: ``service.version`` of the resource (default: this package's version);
            a ``service.version`` in ``ResourceAttributes`` wins over both.
        console_out: where the ``console`` exporter writes (default: ``sys.stderr`` at call time:
            telemetry is a diagnostic stream and must never mix with a program's own output,
            such as ``pm ... --json``).

    Returns:
        The providers, or ``None`` for ``Exporter: none`` (nothing is built or touched).
    """
    if options.exporter == "none":
        return None

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = _resource(options, service_version)
    metrics_url: str | None = None
    stop_serving: Callable[[], None] | None = None
    quiet: _ExportFailuresOnce | None = None
    if options.exporter == "prometheus":
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

        # Prometheus takes metrics only: spans are not sampled, so they cost next to nothing.
        tracer_provider = TracerProvider(resource=resource, sampler=ALWAYS_OFF)
        reader, metrics_url, stop_serving = _prometheus_reader(options.prometheus_port)
        meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    else:
        span_exporter, metric_exporter = _exporters(options, console_out)
        tracer_provider = TracerProvider(resource=resource, sampler=_sampler(options.sampling_ratio))
        timeout_ms = EXPORT_TIMEOUT_S * 1000
        tracer_provider.add_span_processor(
            BatchSpanProcessor(span_exporter, export_timeout_millis=timeout_ms)
        )
        meter_provider = MeterProvider(
            resource=resource,
            metric_readers=[PeriodicExportingMetricReader(metric_exporter, export_timeout_millis=timeout_ms)],
        )
        if options.exporter == "otlp":
            quiet = _ExportFailuresOnce(options.otlp_endpoint)
    tracer_global = meter_global = False
    if set_global:
        tracer_global = _install_tracer_provider(tracer_provider)
        meter_global = _install_meter_provider(meter_provider)
    _log.info(
        "telemetry export configured: exporter=%s service.name=%s%s",
        options.exporter,
        options.service_name,
        f" metrics={metrics_url}" if metrics_url else "",
    )
    return TelemetryProviders(
        tracer_provider, meter_provider, tracer_global, meter_global, metrics_url, stop_serving, quiet
    )


def _sampler(ratio: float) -> Sampler:
    """``Telemetry:SamplingRatio`` as a parent-based trace-id ratio sampler.

    Parent-based so that an operation started inside a host's span follows the host's decision
    (a trace is never half recorded); only root spans draw against the ratio.
    """
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    return ParentBased(ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio))


def _prometheus_reader(port: int) -> tuple[MetricReader, str, Callable[[], None]]:
    """A pull reader and its ``/metrics`` server on loopback, on a registry of its own.

    Its own ``CollectorRegistry`` (not prometheus_client's global one): two clients in one process
    (or a host that uses prometheus_client itself) must not collide on metric names.
    """
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError as exc:
        raise RuntimeError(
            "Telemetry:Exporter prometheus needs the prometheus extra: pip install 'pm-resilience[prometheus]'"
        ) from exc

    registry = CollectorRegistry(auto_describe=True)
    reader = PrometheusMetricReader(registry=registry)
    try:
        server, thread = start_http_server(port, addr=PROMETHEUS_HOST, registry=registry)
    except OSError as exc:
        raise RuntimeError(
            f"Telemetry:PrometheusPort {port}: cannot serve /metrics on {PROMETHEUS_HOST}: {exc.strerror or exc}"
        ) from exc
    url = f"http://{PROMETHEUS_HOST}:{server.server_port}{PROMETHEUS_PATH}"

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return reader, url, stop


def _resource(options: TelemetryOptions, service_version: str | None) -> Resource:
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource

    from projectmanagement_services._version import __version__

    attributes: dict[str, str] = {SERVICE_VERSION: service_version or __version__}
    attributes.update(options.resource_attributes)
    # ServiceName is the dedicated key: it wins over a service.name among the free-form attributes.
    attributes[SERVICE_NAME] = options.service_name
    return Resource.create(attributes)


def _exporters(options: TelemetryOptions, console_out: TextIO | None) -> tuple[SpanExporter, MetricExporter]:
    if options.exporter == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        out = console_out if console_out is not None else sys.stderr
        return ConsoleSpanExporter(out=out), ConsoleMetricExporter(out=out)
    if options.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = options.otlp_endpoint.rstrip("/")
        return (
            OTLPSpanExporter(endpoint=base + OTLP_TRACES_PATH, timeout=EXPORT_TIMEOUT_S),
            OTLPMetricExporter(endpoint=base + OTLP_METRICS_PATH, timeout=EXPORT_TIMEOUT_S),
        )
    raise ValueError(f"unknown telemetry exporter {options.exporter!r}")


def _install_tracer_provider(provider: TracerProvider) -> bool:
    from opentelemetry import trace

    current = trace.get_tracer_provider()
    if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        _log.warning(
            "telemetry: a global TracerProvider (%s) is already configured; keeping it",
            type(current).__name__,
        )
        return False
    trace.set_tracer_provider(provider)
    return trace.get_tracer_provider() is provider


def _install_meter_provider(provider: MeterProvider) -> bool:
    from opentelemetry import metrics

    # The API's stand-in before any provider is set; private, but the only way to tell "unset".
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    current = metrics.get_meter_provider()
    if not isinstance(current, _ProxyMeterProvider | metrics.NoOpMeterProvider):
        _log.warning(
            "telemetry: a global MeterProvider (%s) is already configured; keeping it",
            type(current).__name__,
        )
        return False
    metrics.set_meter_provider(provider)
    return metrics.get_meter_provider() is provider
