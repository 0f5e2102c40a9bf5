"""PmTelemetry wired to the OTel SDK's in-memory exporter and reader (never the global providers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from projectmanagement_services.telemetry import PmTelemetry

__all__ = ["OtelCapture"]


@dataclass
class OtelCapture:
    """Finished spans and metric points recorded through ``telemetry``."""

    server_address: str | None = None
    server_port: int | None = None
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    reader: InMemoryMetricReader = field(default_factory=InMemoryMetricReader)

    def __post_init__(self) -> None:
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        meter_provider = MeterProvider(metric_readers=[self.reader])
        self.telemetry = PmTelemetry(
            tracer_provider,
            meter_provider,
            server_address=self.server_address,
            server_port=self.server_port,
        )

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if name is None or s.name == name]

    def points(self, metric: str) -> list[Any]:
        """Data points of ``metric`` (cumulative), each with ``.attributes`` and ``.value``/``.count``."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for m in scope_metrics.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return found

    def counter_by(self, metric: str, attribute: str) -> dict[Any, int]:
        """A counter's totals keyed by one attribute's value."""
        totals: dict[Any, int] = {}
        for point in self.points(metric):
            key = dict(point.attributes).get(attribute)
            totals[key] = totals.get(key, 0) + point.value
        return totals
