"""Telemetry:SamplingRatio: the sampler configure_telemetry builds, with the real SDK in memory.

The tracer provider comes from ``configure_telemetry`` (console exporter into a buffer) with an
in-memory span exporter added; the histogram goes to a private in-memory reader, so nothing here
touches the global providers.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

from projectmanagement_services.telemetry import METRIC_OPERATION_DURATION, PmTelemetry, TelemetryOptions
from projectmanagement_services.telemetry_setup import configure_telemetry

OPERATIONS = 50


class SampledRig:
    """PmTelemetry on the tracer provider built for ``ratio``, spans and histogram kept in memory."""

    def __init__(self, ratio: float) -> None:
        built = configure_telemetry(
            TelemetryOptions(exporter="console", sampling_ratio=ratio), console_out=io.StringIO()
        )
        assert built is not None
        self.providers = built
        self.spans = InMemorySpanExporter()
        built.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = PmTelemetry(built.tracer_provider, MeterProvider(metric_readers=[self.reader]))

    def run(self, count: int = OPERATIONS) -> None:
        for _ in range(count):
            with self.telemetry.start_operation_span("GetWorkItems"):
                pass

    def histogram_count(self) -> int:
        data = self.reader.get_metrics_data()
        total = 0
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == METRIC_OPERATION_DURATION:
                        points: list[Any] = list(metric.data.data_points)
                        total += sum(point.count for point in points)
        return total

    def close(self) -> None:
        self.providers.shutdown()


@pytest.fixture
def rig_for() -> Any:
    made: list[SampledRig] = []

    def make(ratio: float) -> SampledRig:
        rig = SampledRig(ratio)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def test_default_ratio_is_one() -> None:
    assert TelemetryOptions().sampling_ratio == 1.0


def test_ratio_zero_records_no_span_but_the_histogram_counts_every_operation(rig_for: Any) -> None:
    rig = rig_for(0.0)
    rig.run()
    assert rig.spans.get_finished_spans() == ()
    assert rig.histogram_count() == OPERATIONS


def test_ratio_one_records_every_span(rig_for: Any) -> None:
    rig = rig_for(1.0)
    rig.run()
    assert len(rig.spans.get_finished_spans()) == OPERATIONS
    assert rig.histogram_count() == OPERATIONS


def test_a_ratio_between_samples_some_by_trace_id(rig_for: Any) -> None:
    rig = rig_for(0.5)
    rig.run(400)
    recorded = len(rig.spans.get_finished_spans())
    # Trace ids are random: 400 draws at 0.5 land outside 100..300 with negligible probability.
    assert 100 < recorded < 300
    assert rig.histogram_count() == 400


def test_ratio_zero_follows_a_sampled_parent(rig_for: Any) -> None:
    rig = rig_for(0.0)
    host = TracerProvider(sampler=ALWAYS_ON).get_tracer("host")
    with host.start_as_current_span("host request"):
        rig.run(3)
    spans = rig.spans.get_finished_spans()
    assert len(spans) == 3
    assert all(span.parent is not None for span in spans)


def test_ratio_one_follows_an_unsampled_parent(rig_for: Any) -> None:
    rig = rig_for(1.0)
    host = TracerProvider(sampler=ALWAYS_OFF).get_tracer("host")
    with host.start_as_current_span("host request"):
        rig.run(3)
    assert rig.spans.get_finished_spans() == ()
    assert rig.histogram_count() == 3
