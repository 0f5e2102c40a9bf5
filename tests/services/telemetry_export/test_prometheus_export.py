"""The ``prometheus`` exporter: ``/metrics`` on loopback, design.md section 8 under Prometheus names.

Scraped here with a plain HTTP GET and parsed with prometheus_client's own text parser; the scrape by
a real Prometheus server is ``tests/integration/test_prometheus_scrape.py``.
"""

from __future__ import annotations

import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from prometheus_client.parser import text_string_to_metric_families

from projectmanagement_services import AppSettings, create_container
from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker
from projectmanagement_services.settings import ProjectManagementSettings
from projectmanagement_services.telemetry import PmTelemetry, TelemetryOptions
from projectmanagement_services.telemetry_setup import TelemetryProviders, configure_telemetry

#: design.md section 8's metrics as Prometheus names them (OTel's Prometheus compatibility rules:
#: dots become underscores, counters get ``_total``, a unit of seconds becomes ``_seconds``).
PROMETHEUS_NAMES = {
    "pm.client.operation.duration": "pm_client_operation_duration_seconds",
    "pm.resilience.retry.attempts": "pm_resilience_retry_attempts_total",
    "pm.resilience.circuit.transitions": "pm_resilience_circuit_transitions_total",
    "pm.resilience.circuit.rejections": "pm_resilience_circuit_rejections_total",
    "pm.resilience.circuit.state": "pm_resilience_circuit_state",
    "pm.reconnection.attempts": "pm_reconnection_attempts_total",
    "pm.connection.rtt": "pm_connection_rtt_seconds",
    "pm.client.frames.dropped": "pm_client_frames_dropped_total",
}


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample on ``url`` by sample name: ``[(labels, value), ...]``."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    matching = [v for sample_labels, v in samples.get(name, []) if labels.items() <= sample_labels.items()]
    assert len(matching) == 1, f"{name} {labels}: {samples.get(name)}"
    return matching[0]


@pytest.fixture
def exported() -> Iterator[TelemetryProviders]:
    providers = configure_telemetry(TelemetryOptions(exporter="prometheus", prometheus_port=0))
    assert providers is not None
    try:
        yield providers
    finally:
        providers.shutdown()


def record_one_of_each(telemetry: PmTelemetry) -> CircuitBreaker:
    """One recording of each of the eight metrics (the breaker feeds the state gauge)."""
    breaker = CircuitBreaker(telemetry=telemetry)
    telemetry.record_operation_duration("CreateWorkItem", 0.25, None)
    telemetry.record_retry("CreateWorkItem", 1, 0.1, "TIMEOUT")
    telemetry.record_circuit_transition("Closed", "Open")
    telemetry.record_circuit_rejection("GetWorkItems")
    telemetry.record_reconnect_attempt("success", 1)
    telemetry.record_rtt(0.004)
    telemetry.record_frame_dropped("malformed")
    return breaker


def test_serves_the_eight_metrics_under_prometheus_names_on_loopback(exported: TelemetryProviders) -> None:
    assert exported.metrics_url is not None
    url = urlsplit(exported.metrics_url)
    assert (url.hostname, url.path) == ("127.0.0.1", "/metrics")
    assert url.port
    telemetry = PmTelemetry(exported.tracer_provider, exported.meter_provider)
    breaker = record_one_of_each(telemetry)

    samples = scrape(exported.metrics_url)

    assert value(samples, "pm_client_operation_duration_seconds_count", rpc_method="CreateWorkItem") == 1
    assert value(samples, "pm_client_operation_duration_seconds_sum", rpc_method="CreateWorkItem") == 0.25
    assert (
        value(
            samples, "pm_resilience_retry_attempts_total", rpc_method="CreateWorkItem", error_type="TIMEOUT"
        )
        == 1
    )
    assert (
        value(
            samples, "pm_resilience_circuit_transitions_total", pm_circuit_from="Closed", pm_circuit_to="Open"
        )
        == 1
    )
    assert value(samples, "pm_resilience_circuit_rejections_total", rpc_method="GetWorkItems") == 1
    assert value(samples, "pm_resilience_circuit_state", pm_circuit_name=breaker.name) == 0
    assert value(samples, "pm_reconnection_attempts_total", outcome="success") == 1
    assert value(samples, "pm_connection_rtt_seconds_count") == 1
    assert value(samples, "pm_client_frames_dropped_total", reason="malformed") == 1
    assert value(samples, "target_info", service_name="pm-client") == 1
    histogram_names = {"pm_client_operation_duration_seconds", "pm_connection_rtt_seconds"}
    for name in PROMETHEUS_NAMES.values():
        present = {f"{name}_count"} if name in histogram_names else {name}
        assert present <= samples.keys(), name


def test_spans_are_not_sampled_with_prometheus(exported: TelemetryProviders) -> None:
    # Prometheus takes metrics only: an operation's span must cost nothing (not recording).
    with exported.tracer_provider.get_tracer("t").start_as_current_span("pm Op") as span:
        assert not span.is_recording()


def test_shutdown_stops_serving(exported: TelemetryProviders) -> None:
    assert exported.metrics_url is not None
    scrape(exported.metrics_url)
    exported.shutdown()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(exported.metrics_url, timeout=5)


def test_two_pipelines_in_one_process_do_not_collide() -> None:
    # Each has its own registry: the second would fail on duplicate names in prometheus_client's global.
    first = configure_telemetry(TelemetryOptions(exporter="prometheus", prometheus_port=0))
    second = configure_telemetry(TelemetryOptions(exporter="prometheus", prometheus_port=0))
    assert first is not None
    assert second is not None
    try:
        PmTelemetry(first.tracer_provider, first.meter_provider).record_frame_dropped("oversized")
        assert first.metrics_url
        assert second.metrics_url
        assert value(scrape(first.metrics_url), "pm_client_frames_dropped_total", reason="oversized") == 1
        assert "pm_client_frames_dropped_total" not in scrape(second.metrics_url)
    finally:
        first.shutdown()
        second.shutdown()


def test_a_busy_port_is_a_clear_error_naming_the_key() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"Telemetry:PrometheusPort {port}: cannot serve /metrics"):
            configure_telemetry(TelemetryOptions(exporter="prometheus", prometheus_port=port))


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.prometheus", None)
    with pytest.raises(RuntimeError, match=r"pip install 'pm-resilience\[prometheus\]'"):
        configure_telemetry(TelemetryOptions(exporter="prometheus", prometheus_port=0))


def test_the_container_serves_metrics_from_settings_alone_and_stops_on_shutdown() -> None:
    telemetry = TelemetryOptions(exporter="prometheus", prometheus_port=0)
    container = create_container(
        AppSettings(project_management=ProjectManagementSettings(telemetry=telemetry))
    )
    exported = container.telemetry_providers.init()
    assert exported is not None
    assert exported.metrics_url is not None
    container.telemetry().record_frame_dropped("unknown")
    assert value(scrape(exported.metrics_url), "pm_client_frames_dropped_total", reason="unknown") == 1
    container.telemetry_providers.shutdown()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(exported.metrics_url, timeout=5)
