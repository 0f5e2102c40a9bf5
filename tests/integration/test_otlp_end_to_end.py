"""OTLP export end to end: the container's client, a real server, a real OTLP/HTTP receiver.

The container is built from settings alone (``Exporter: otlp``, ``OtlpEndpoint`` = the receiver),
runs an operation that is retried once, a heartbeat round trip, a dropped malformed frame, a real
reconnect, and a breaker trip followed by a rejected call. Then it flushes, and the receiver on
127.0.0.1 decodes the protobuf export requests: every span, attribute, span event and metric of
design.md section 8 must have arrived.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus

from projectmanagement_core.exceptions import CircuitOpenException, ServerRejectedException
from projectmanagement_core.models import CreateProjectRequest, CreateWorkItemRequest, WorkItemType
from projectmanagement_services import AppSettings, __version__, create_container, running
from projectmanagement_services.resilience import CircuitState
from projectmanagement_services.testing import PmTestServer
from tests.support.otlp_receiver import MetricPoint, OtlpReceiver, ReceivedSpan

LIMIT = 10.0

SECTION_8_METRICS = {
    "pm.client.operation.duration": "s",
    "pm.resilience.retry.attempts": "{attempt}",
    "pm.resilience.circuit.transitions": "{transition}",
    "pm.resilience.circuit.rejections": "{call}",
    "pm.resilience.circuit.state": "1",
    "pm.reconnection.attempts": "{attempt}",
    "pm.connection.rtt": "s",
    "pm.client.frames.dropped": "{frame}",
}


def _settings(server: PmTestServer, receiver: OtlpReceiver) -> AppSettings:
    return AppSettings.load(
        env={},
        overrides={
            "ProjectManagement": {
                "WebSocket": {"ServerUrl": server.url, "UserId": str(uuid4()), "RequestTimeout": "00:00:05"},
                # Tiny delays only pace the loops; every outcome below is awaited, never slept for.
                "RetryPolicy": {"MaxAttempts": 2, "InitialDelay": "00:00:00.001", "MaxDelay": "00:00:00.010"},
                "CircuitBreaker": {"FailureThreshold": 2, "OpenDuration": "00:05:00"},
                "Reconnection": {"InitialDelay": "00:00:00.001", "MaxDelay": "00:00:00.010"},
                "Telemetry": {
                    "Exporter": "otlp",
                    "OtlpEndpoint": receiver.endpoint,
                    "ServiceName": "pm-e2e",
                    "ResourceAttributes": {"deployment.environment": "test"},
                },
            }
        },
    )


def _latest(points: list[MetricPoint], **attributes: Any) -> MetricPoint:
    """The last exported point with exactly these attributes (cumulative: the running total)."""
    matching = [p for p in points if p.attributes == attributes]
    assert matching, f"no point with {attributes}; got {[p.attributes for p in points]}"
    return matching[-1]


@pytest.fixture
def receiver() -> Any:
    with OtlpReceiver() as started:
        yield started


async def test_spans_events_and_metrics_of_section_8_arrive_at_the_collector(receiver: OtlpReceiver) -> None:
    async with PmTestServer() as server:
        container = create_container(_settings(server, receiver))
        async with asyncio.timeout(LIMIT), running(container):
            client = container.client()
            project = await client.create_project(CreateProjectRequest(key="OTLP", title="otlp"))
            await client.subscribe([project.id])

            # 1. A create that is retried once (the server says "try again" to the first attempt).
            server.faults.fail_requests(1, code="SERVICE_UNAVAILABLE")
            await client.create_work_item(
                CreateWorkItemRequest(project_id=project.id, item_type=WorkItemType.TASK, title="retried")
            )

            # 2. A malformed frame is dropped; the ping after it measures a round trip.
            await server.faults.send_malformed()
            await client.ping()

            # 3. A real outage: the reconnection service reconnects, re-subscribes and resyncs.
            reconnected: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            container.reconnection().on_reconnected.subscribe(reconnected.set_result)
            await server.faults.drop_all()
            await reconnected

            # 4. Two operations fail after their retries: the breaker (threshold 2) opens ...
            server.faults.fail_requests(4, code="SERVICE_UNAVAILABLE")
            for _ in range(2):
                with pytest.raises(ServerRejectedException):
                    await client.get_work_items(project.id)
            assert container.circuit_breaker().state is CircuitState.OPEN
            # ... and the next call is rejected without reaching the server.
            with pytest.raises(CircuitOpenException):
                await client.get_work_items(project.id)

            exported = container.telemetry_providers()
            assert exported is not None
            assert exported.force_flush()
            await receiver.wait_for_spans_async(
                "pm CreateWorkItem", "pm GetWorkItems", "pm reconnect", "pm Ping"
            )
            await receiver.wait_for_metrics_async(*SECTION_8_METRICS)

        # -- spans ---------------------------------------------------------------------------
        (created,) = receiver.spans_named("pm CreateWorkItem")
        assert created.kind == ProtoSpan.SPAN_KIND_CLIENT
        assert created.scope_name == "projectmanagement_services"
        assert created.scope_version == __version__
        assert created.resource["service.name"] == "pm-e2e"
        assert created.resource["deployment.environment"] == "test"
        assert created.attributes == {
            "rpc.system": "pm-ws",
            "rpc.method": "CreateWorkItem",
            "server.address": "127.0.0.1",
            "server.port": server.port,
            "pm.attempts": 2,
            "pm.circuit.state": "Closed",
        }
        ((event_name, retry),) = created.events
        assert event_name == "pm.retry"
        assert retry["attempt"] == 1
        assert retry["error.type"] == "SERVICE_UNAVAILABLE"
        assert 0.001 <= retry["delay_s"] <= 0.010
        assert created.status_code != ProtoStatus.STATUS_CODE_ERROR

        failed_1, failed_2, rejected = receiver.spans_named("pm GetWorkItems")[-3:]
        for failed, state_after in ((failed_1, "Closed"), (failed_2, "Open")):
            assert failed.status_code == ProtoStatus.STATUS_CODE_ERROR
            assert failed.attributes["error.type"] == "SERVICE_UNAVAILABLE"
            assert failed.attributes["pm.attempts"] == 2
            assert failed.attributes["pm.circuit.state"] == state_after
            assert [name for name, _ in failed.events] == ["pm.retry", "exception"]
        _assert_rejected(rejected)

        (reconnect,) = receiver.spans_named("pm reconnect")
        assert reconnect.attributes["pm.resubscribed"] == 1
        assert reconnect.attributes["pm.resynced_items"] == 1  # the one work item, no sprint
        assert reconnect.attributes["pm.attempts"] >= 1
        assert (
            "pm.reconnect.attempt",
            {"outcome": "success", "attempt": reconnect.attributes["pm.attempts"]},
        ) in (reconnect.events)

        # -- metrics -------------------------------------------------------------------------
        assert set(SECTION_8_METRICS) <= receiver.metric_names()
        for name, unit in SECTION_8_METRICS.items():
            assert {p.unit for p in receiver.metric_points(name)} == {unit}, name

        retries = receiver.metric_points("pm.resilience.retry.attempts")
        assert (
            _latest(retries, **{"rpc.method": "CreateWorkItem", "error.type": "SERVICE_UNAVAILABLE"}).value
            == 1
        )
        assert (
            _latest(retries, **{"rpc.method": "GetWorkItems", "error.type": "SERVICE_UNAVAILABLE"}).value == 2
        )
        transitions = receiver.metric_points("pm.resilience.circuit.transitions")
        assert _latest(transitions, **{"pm.circuit.from": "Closed", "pm.circuit.to": "Open"}).value == 1
        rejections = receiver.metric_points("pm.resilience.circuit.rejections")
        assert _latest(rejections, **{"rpc.method": "GetWorkItems"}).value == 1
        gauge = receiver.metric_points("pm.resilience.circuit.state")
        assert _latest(gauge, **{"pm.circuit.name": "pm"}).value == 2  # 2 = open
        reconnects = receiver.metric_points("pm.reconnection.attempts")
        assert _latest(reconnects, outcome="success").value == 1
        dropped = receiver.metric_points("pm.client.frames.dropped")
        assert _latest(dropped, reason="malformed").value == 1
        rtt = receiver.metric_points("pm.connection.rtt")
        assert (rtt[-1].count or 0) >= 1
        durations = receiver.metric_points("pm.client.operation.duration")
        assert _latest(durations, **{"rpc.method": "CreateWorkItem"}).count == 1
        assert (
            _latest(durations, **{"rpc.method": "GetWorkItems", "error.type": "SERVICE_UNAVAILABLE"}).count
            == 2
        )
        assert (
            _latest(durations, **{"rpc.method": "GetWorkItems", "error.type": "CircuitOpenException"}).count
            == 1
        )


def _assert_rejected(span: ReceivedSpan) -> None:
    assert span.status_code == ProtoStatus.STATUS_CODE_ERROR
    assert span.attributes["error.type"] == "CircuitOpenException"
    assert span.attributes["pm.attempts"] == 0
    assert span.attributes["pm.circuit.state"] == "Open"
    # The exception itself is recorded as the standard "exception" event, after ours.
    assert [name for name, _ in span.events] == ["pm.circuit.rejected", "exception"]
