"""OTLP/HTTP export proven on the wire: spans and metrics decoded by a real receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from projectmanagement_services import __version__
from projectmanagement_services.telemetry import (
    ATTR_ERROR_TYPE,
    ATTR_RPC_METHOD,
    ATTR_RPC_SYSTEM,
    EVENT_RETRY,
    INSTRUMENTATION_SCOPE,
    METRIC_OPERATION_DURATION,
    METRIC_RETRY_ATTEMPTS,
    RPC_SYSTEM,
    TelemetryOptions,
    span_name,
)
from projectmanagement_services.telemetry_setup import TelemetryProviders, configure_telemetry
from tests.support.otlp_receiver import OtlpReceiver


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture
def providers(receiver: OtlpReceiver) -> Iterator[TelemetryProviders]:
    options = TelemetryOptions(
        exporter="otlp",
        otlp_endpoint=receiver.endpoint,
        service_name="pm-export-test",
        resource_attributes={"deployment.environment": "test"},
    )
    built = configure_telemetry(options)
    assert built is not None
    yield built
    built.shutdown()


def test_spans_and_metrics_arrive_decoded(receiver: OtlpReceiver, providers: TelemetryProviders) -> None:
    tracer = providers.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
    with tracer.start_as_current_span(
        span_name("CreateWorkItem"),
        kind=SpanKind.CLIENT,
        attributes={ATTR_RPC_SYSTEM: RPC_SYSTEM, ATTR_RPC_METHOD: "CreateWorkItem", "pm.attempts": 2},
    ) as span:
        span.add_event(EVENT_RETRY, {"attempt": 1, "delay_s": 0.1, ATTR_ERROR_TYPE: "ConnectionException"})
    meter = providers.meter_provider.get_meter(INSTRUMENTATION_SCOPE, __version__)
    meter.create_counter(METRIC_RETRY_ATTEMPTS, unit="{attempt}").add(
        1, {ATTR_RPC_METHOD: "CreateWorkItem", ATTR_ERROR_TYPE: "ConnectionException"}
    )
    meter.create_histogram(METRIC_OPERATION_DURATION, unit="s").record(
        0.25, {ATTR_RPC_METHOD: "CreateWorkItem"}
    )

    assert providers.force_flush()
    receiver.wait_for_spans("pm CreateWorkItem")
    receiver.wait_for_metrics(METRIC_RETRY_ATTEMPTS, METRIC_OPERATION_DURATION)

    (received,) = receiver.spans_named("pm CreateWorkItem")
    assert received.kind == ProtoSpan.SPAN_KIND_CLIENT
    assert received.attributes == {"rpc.system": "pm-ws", "rpc.method": "CreateWorkItem", "pm.attempts": 2}
    assert received.events == [
        ("pm.retry", {"attempt": 1, "delay_s": 0.1, "error.type": "ConnectionException"})
    ]
    assert received.scope_name == INSTRUMENTATION_SCOPE
    assert received.scope_version == __version__
    assert received.resource["service.name"] == "pm-export-test"
    assert received.resource["service.version"] == __version__
    assert received.resource["deployment.environment"] == "test"

    (retry_point,) = receiver.metric_points(METRIC_RETRY_ATTEMPTS)
    assert retry_point.value == 1
    assert retry_point.unit == "{attempt}"
    assert retry_point.attributes == {"rpc.method": "CreateWorkItem", "error.type": "ConnectionException"}
    (duration_point,) = receiver.metric_points(METRIC_OPERATION_DURATION)
    assert (duration_point.count, duration_point.sum, duration_point.unit) == (1, 0.25, "s")

    paths = {path for path, _, _ in receiver.requests}
    assert paths == {"/v1/traces", "/v1/metrics"}
    assert all(content_type == "application/x-protobuf" for _, content_type, _ in receiver.requests)


async def test_async_wait_sees_spans_without_blocking_the_loop(
    receiver: OtlpReceiver, providers: TelemetryProviders
) -> None:
    providers.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE).start_span("pm GetWorkItems").end()
    assert providers.force_flush()
    await receiver.wait_for_spans_async("pm GetWorkItems", timeout=5)
    assert receiver.span_names() == ["pm GetWorkItems"]


def test_endpoint_with_trailing_slash_still_posts_to_signal_paths(receiver: OtlpReceiver) -> None:
    built = configure_telemetry(TelemetryOptions(exporter="otlp", otlp_endpoint=receiver.endpoint + "/"))
    assert built is not None
    try:
        built.tracer_provider.get_tracer("t").start_span("pm Ping").end()
        assert built.force_flush()
    finally:
        built.shutdown()
    assert receiver.span_names() == ["pm Ping"]
    assert [path for path, _, _ in receiver.requests if path == "/v1/traces"] == ["/v1/traces"]


def test_service_name_wins_over_resource_attribute(receiver: OtlpReceiver) -> None:
    options = TelemetryOptions(
        exporter="otlp",
        otlp_endpoint=receiver.endpoint,
        service_name="the-name",
        resource_attributes={"service.name": "other", "service.version": "9.9"},
    )
    built = configure_telemetry(options)
    assert built is not None
    try:
        built.tracer_provider.get_tracer("t").start_span("pm Ping").end()
        assert built.force_flush()
    finally:
        built.shutdown()
    resource = receiver.spans()[0].resource
    assert resource["service.name"] == "the-name"
    assert resource["service.version"] == "9.9"


def test_receiver_decodes_gzip_bodies(receiver: OtlpReceiver) -> None:
    provider = TracerProvider()
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=receiver.endpoint + "/v1/traces", compression=Compression.Gzip)
        )
    )
    try:
        provider.get_tracer("t").start_span("pm Compressed", attributes={"k": "v"}).end()
    finally:
        provider.shutdown()
    assert receiver.requests[0][2] == "gzip"
    assert receiver.span_attributes("pm Compressed") == {"k": "v"}


def test_receiver_wait_is_bounded(receiver: OtlpReceiver) -> None:
    with pytest.raises(TimeoutError, match="pm Never"):
        receiver.wait_for_spans("pm Never", timeout=0.05)


def test_receiver_rejects_garbage_and_unknown_paths(receiver: OtlpReceiver) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(receiver.endpoint.rsplit(":", 1)[1]), timeout=5)
    try:
        connection.request(
            "POST", "/v1/traces", body=b"\xff\xff\xff", headers={"Content-Type": "application/x-protobuf"}
        )
        assert connection.getresponse().status == 400
        connection.close()
        connection.request("POST", "/v1/logs", body=b"", headers={"Content-Type": "application/x-protobuf"})
        assert connection.getresponse().status == 404
    finally:
        connection.close()
    assert receiver.trace_requests == []
