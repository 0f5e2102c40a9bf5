"""PmContainer against a real PmTestServer: the graph it builds, its lifecycle, and its overrides."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from dependency_injector import providers
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    ServerRejectedException,
)
from projectmanagement_core.models import (
    ConnectionState,
    CreateProjectRequest,
    CreateWorkItemRequest,
    WorkItemType,
)
from projectmanagement_services import (
    AppSettings,
    PmContainer,
    ProjectManagementContainer,
    SettingsError,
    TelemetryProviders,
    create_container,
    running,
)
from projectmanagement_services.resilience import CircuitState
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.state import SprintStore, WorkItemStore
from projectmanagement_services.telemetry import PmTelemetry
from projectmanagement_services.testing import PmTestServer
from projectmanagement_services.websocket import WebSocketClient
from tests.services.container.support import TIMEOUT, client_tasks, settings_for
from tests.services.resilience.fake_time import FakeTime


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer() as running_server:
        yield running_server


def test_graph_is_built_from_the_settings_sections() -> None:
    settings = AppSettings.load(
        env={},
        overrides={
            "ProjectManagement": {
                "WebSocket": {"ServerUrl": "ws://pm.example:9000/ws"},
                "CircuitBreaker": {"FailureThreshold": 7},
                "RetryPolicy": {"MaxAttempts": 4},
                "Reconnection": {"MaxAttempts": 2},
            }
        },
    )
    container = create_container(settings)

    client = container.client()
    assert isinstance(client, ResilientWebSocketClient)
    assert isinstance(client.inner, WebSocketClient)
    assert client.inner is container.inner_client()
    assert client.breaker is container.circuit_breaker()
    assert client.reconnection is container.reconnection()
    assert client.inner.health is container.health()
    assert container.inner_client().options.server_url == "ws://pm.example:9000/ws"
    assert container.circuit_breaker().options.failure_threshold == 7
    assert container.retry_policy().options.max_attempts == 4
    assert container.reconnection().options.max_attempts == 2
    assert isinstance(container.work_items(), WorkItemStore)
    assert isinstance(container.sprints(), SprintStore)
    # Singletons, as the .NET plan registers them.
    for name in ("client", "inner_client", "circuit_breaker", "retry_policy", "reconnection", "telemetry"):
        provider = getattr(container, name)
        assert provider() is provider(), name
    assert ProjectManagementContainer is PmContainer


def test_each_container_has_its_own_singletons() -> None:
    settings = AppSettings.load(env={})
    first, second = create_container(settings), create_container(settings)
    assert first.client() is not second.client()
    assert first.circuit_breaker() is not second.circuit_breaker()


def test_exporter_none_builds_no_pipeline_and_reports_through_the_global_api() -> None:
    before = trace.get_tracer_provider()
    container = create_container(AppSettings.load(env={}))
    assert container.telemetry_providers() is None
    telemetry = container.telemetry()
    assert isinstance(telemetry, PmTelemetry)
    assert telemetry.enabled  # not the disabled stand-in: a host's global SDK would see our spans
    assert trace.get_tracer_provider() is before


def test_settings_come_from_the_config_file_and_its_environment_file(tmp_path: Path) -> None:
    base = tmp_path / "pm.json"
    base.write_text(
        '{"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 6, "InitialDelay": "00:00:00.200"}}}'
    )
    (tmp_path / "pm.Staging.json").write_text('{"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 8}}}')

    container = create_container(
        config_path=base,
        environment="Staging",
        overrides={"ProjectManagement": {"CircuitBreaker": {"FailureThreshold": 9}}},
    )

    options = container.retry_policy().options
    assert options.max_attempts == 8
    assert options.initial_delay == timedelta(milliseconds=200)
    assert container.circuit_breaker().options.failure_threshold == 9


def test_config_provider_feeds_the_default_settings(tmp_path: Path) -> None:
    base = tmp_path / "pm.json"
    base.write_text('{"ProjectManagement": {"CircuitBreaker": {"FailureThreshold": 11}}}')
    container = PmContainer()
    container.config.config_path.from_value(str(base))
    assert container.settings().project_management.circuit_breaker.failure_threshold == 11


def test_bad_settings_fail_when_the_container_is_created(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        create_container(config_path=tmp_path / "missing.json")
    with pytest.raises(SettingsError, match="ProjectManagement:RetryPolicy:MaxAttempts"):
        create_container(overrides={"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 0}}})


def test_settings_and_a_config_path_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="either settings or"):
        create_container(AppSettings(), config_path=tmp_path / "x.json")


async def test_init_connects_and_shutdown_closes_everything_leaving_no_task(server: PmTestServer) -> None:
    container = create_container(settings_for(server))
    inner = container.inner_client()

    async with asyncio.timeout(TIMEOUT):
        await container.init_resources()
    try:
        client = container.client()
        assert client.state is ConnectionState.CONNECTED
        assert server.connection_count == 1
        assert client_tasks()  # reader and heartbeat run while connected
        project = await client.create_project(CreateProjectRequest(key="PM", title="container"))
        assert [p.id for p in server.projects()] == [str(project.id)]
        # Stores and reconnection listen to the client while it runs.
        assert len(inner.on_state_changed) == 3  # reconnection service + two stores
        assert len(inner.on_work_item_created) == 1
        assert len(inner.on_sprint_created) == 1
    finally:
        async with asyncio.timeout(TIMEOUT):
            await container.shutdown_resources()

    assert inner.state is ConnectionState.CLOSED
    assert client_tasks() == set()
    assert not container.lifecycle.initialized
    # Stores and the reconnection service let go of the client.
    assert len(inner.on_state_changed) == 0
    assert len(inner.on_work_item_created) == 0
    assert len(inner.on_sprint_created) == 0
    async with asyncio.timeout(TIMEOUT):
        await server.wait_for_connection_count(0)


async def test_running_starts_and_stops_and_leaves_nothing_behind() -> None:
    async with PmTestServer() as server:
        container = create_container(settings_for(server))
        async with running(container) as started:
            assert started is container
            assert container.client().state is ConnectionState.CONNECTED
        assert container.client().state is ConnectionState.CLOSED
    # Server gone too: nothing but this test's own task is left in the loop.
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_a_failed_start_releases_what_had_started(server: PmTestServer) -> None:
    server.faults.refuse_handshakes(1, status=401)
    container = create_container(settings_for(server, Telemetry={"Exporter": "console"}))
    with pytest.raises(ConnectionException):
        async with running(container):
            pytest.fail("must not start")
    assert container.inner_client().state is ConnectionState.CLOSED
    assert not container.telemetry_providers.initialized
    assert not container.lifecycle.initialized
    assert client_tasks() == set()


async def test_overridden_clock_reaches_the_breaker(server: PmTestServer) -> None:
    time = FakeTime()
    settings = settings_for(
        server,
        CircuitBreaker={"FailureThreshold": 1, "OpenDuration": "00:00:30", "HalfOpenSuccessThreshold": 1},
        RetryPolicy={"MaxAttempts": 1},
    )
    container = create_container(settings)
    container.clock.override(providers.Object(time.clock))

    async with running(container):
        client = container.client()
        server.faults.fail_requests(1, code="SERVICE_UNAVAILABLE")
        with pytest.raises(ServerRejectedException) as failed:
            await client.list_projects()
        assert failed.value.code == "SERVICE_UNAVAILABLE"
        assert container.circuit_breaker().state is CircuitState.OPEN

        time.advance(12)
        with pytest.raises(CircuitOpenException) as rejected:
            await client.list_projects()
        assert rejected.value.retry_after == timedelta(seconds=18)  # exact: only fake time passed

        time.advance(18)
        assert container.circuit_breaker().state is CircuitState.HALF_OPEN
        assert await client.list_projects() == []
        assert container.circuit_breaker().state is CircuitState.CLOSED


async def test_overridden_sleep_and_random_reach_the_retry_policy(server: PmTestServer) -> None:
    slept: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds)

    settings = settings_for(server, RetryPolicy={"MaxAttempts": 3, "InitialDelay": "00:00:00.010"})
    container = create_container(settings)
    container.sleep.override(providers.Object(recording_sleep))
    container.random.override(providers.Object(lambda: 0.5))  # the middle of the 0-25 % jitter band

    async with running(container):
        server.faults.fail_requests(2, code="SERVICE_UNAVAILABLE")
        assert await container.client().list_projects() == []

    assert server.counters.requests_by_type["list_projects_request"] == 3
    retry_sleeps = [s for s in slept if s < 1.0]  # the heartbeat's waits are tens of seconds
    assert retry_sleeps == pytest.approx([0.01125, 0.0225])  # 0.010 * 1.125, then 0.020 * 1.125


async def test_telemetry_providers_can_be_replaced_by_in_memory_sdk(server: PmTestServer) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    container = create_container(settings_for(server))
    container.telemetry_providers.override(
        providers.Object(TelemetryProviders(tracer_provider, meter_provider))
    )
    try:
        async with running(container):
            await container.client().create_project(CreateProjectRequest(key="TEL", title="telemetry"))

        (span,) = [s for s in spans.get_finished_spans() if s.name == "pm CreateProject"]
        assert span.kind is trace.SpanKind.CLIENT
        assert dict(span.attributes or {}) == {
            "rpc.system": "pm-ws",
            "rpc.method": "CreateProject",
            "server.address": "127.0.0.1",
            "server.port": server.port,
            "pm.attempts": 1,
            "pm.circuit.state": "Closed",
        }
        data = reader.get_metrics_data()
        assert data is not None
        names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
        assert "pm.client.operation.duration" in names
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


async def test_inner_client_can_be_replaced_by_a_test_double_and_resync_reaches_the_stores() -> None:
    from tests.services.resilience.fake_client import FakeClient, make_work_item

    project = UUID("00000000-0000-4000-8000-0000000000aa")
    fake = FakeClient()
    time = FakeTime()
    settings = AppSettings.load(env={}, overrides={"ProjectManagement": {"Reconnection": {"MaxAttempts": 3}}})
    container = create_container(settings)
    container.inner_client.override(providers.Object(fake))
    container.sleep.override(providers.Object(time.sleep))  # safe: the double has no heartbeat
    container.random.override(providers.Object(lambda: 0.0))  # no jitter

    async with running(container):
        assert fake.state is ConnectionState.CONNECTED
        await container.client().subscribe([project])
        away = make_work_item(project, title="created while away")
        fake.work_items[project].append(away)
        reconnected: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        container.reconnection().on_reconnected.subscribe(reconnected.set_result)

        fake.drop(ConnectionException("gone"))
        async with asyncio.timeout(TIMEOUT):
            await reconnected

        assert container.work_items().get(away.id) == away
        assert [c.args for c in fake.calls_of("subscribe")] == [((project,), ())] * 2
        assert time.sleeps == [1.0]  # the Reconnection InitialDelay of appsettings.json
    assert [c.name for c in fake.calls if c.name in ("aclose", "disconnect")] == ["aclose"]


async def test_stores_resync_after_a_real_outage(server: PmTestServer) -> None:
    """Container A is held away (its reconnect wait is gated) while B creates an item; A comes back
    and its store shows the item from the resync, not from a broadcast."""
    gate = asyncio.Event()
    gate.set()

    async def gated_sleep(seconds: float) -> None:
        await gate.wait()
        await asyncio.sleep(seconds)

    alice = create_container(settings_for(server, Reconnection={"InitialDelay": "00:00:00.001"}))
    alice.sleep.override(providers.Object(gated_sleep))
    async with running(alice):
        owner = alice.client()
        project = await owner.create_project(CreateProjectRequest(key="RS", title="resync"))
        bob_settings = settings_for(server)
        server.add_member(project.id, bob_settings.project_management.web_socket.user_id)
        await owner.subscribe([project.id])
        await alice.work_items().load_project(project.id)
        changes: list[str] = []
        alice.work_items().on_changed.subscribe(lambda change: changes.append(change.source))
        reconnected: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        alice.reconnection().on_reconnected.subscribe(reconnected.set_result)
        away: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        alice.reconnection().on_reconnecting.subscribe(lambda n: away.done() or away.set_result(n))

        gate.clear()
        await server.faults.drop_all()
        async with asyncio.timeout(TIMEOUT):
            await away
        async with running(create_container(bob_settings)) as bob:
            item = await bob.client().create_work_item(
                CreateWorkItemRequest(project_id=project.id, item_type=WorkItemType.TASK, title="while away")
            )
        assert alice.work_items().get(item.id) is None
        gate.set()
        async with asyncio.timeout(TIMEOUT):
            await reconnected

        assert alice.work_items().get(item.id) == item
        assert changes == ["resync"]
