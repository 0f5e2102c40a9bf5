"""The chaos engine builds its clients through the DI container, from the user's settings.

``pm demo`` must use the client exactly as an embedding application does: ``create_container`` over
``AppSettings`` (the user's file, environment and flags) with the demo's own layer on top. Proof by
telemetry: with an OTLP exporter configured, the demo's operations arrive at a collector, tagged
with the user's service name, which only clients built by the container from those settings do.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from projectmanagement_core.exceptions import (
    CircuitOpenException,
    ConnectionException,
    RequestTimeoutException,
)
from projectmanagement_services.cli import main
from projectmanagement_services.demo import demo_settings, run_chaos
from projectmanagement_services.settings import AppSettings
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.settings_environment import isolate_settings_sources

DEMO_URL = "ws://127.0.0.1:5555/ws"


def test_demo_settings_layer_server_identity_and_timings_over_the_users_settings() -> None:
    user = AppSettings.model_validate(
        {
            "ProjectManagement": {
                "WebSocket": {
                    "ServerUrl": "wss://pm.example.com/ws",
                    "AuthToken": "s3cret-token",
                    "RequestTimeout": "00:00:30",
                    "MaxMessageSize": 4096,
                },
                "RetryPolicy": {"MaxAttempts": 9, "Jitter": "full"},
                "Telemetry": {
                    "Exporter": "otlp",
                    "ServiceName": "my-app",
                    "ResourceAttributes": {"team": "pm"},
                },
            }
        }
    )
    user_id = uuid.uuid4()
    role = {"ProjectManagement": {"Telemetry": {"ResourceAttributes": {"pm.demo.client": "writer"}}}}

    settings = demo_settings(DEMO_URL, user_id, user, overrides=role).project_management

    web_socket = settings.web_socket
    assert (web_socket.server_url, web_socket.user_id, web_socket.auth_token) == (DEMO_URL, user_id, None)
    assert web_socket.request_timeout == timedelta(seconds=1)  # demo-sized
    assert web_socket.max_message_size == 4096  # the user's
    assert (settings.retry_policy.max_attempts, settings.retry_policy.jitter) == (4, "full")
    assert settings.circuit_breaker.open_duration == timedelta(milliseconds=500)
    assert settings.reconnection.max_attempts is None
    assert (settings.telemetry.exporter, settings.telemetry.service_name) == ("otlp", "my-app")
    assert settings.telemetry.resource_attributes == {"team": "pm", "pm.demo.client": "writer"}
    assert user.project_management.web_socket.server_url == "wss://pm.example.com/ws"  # not mutated


def test_demo_settings_without_base_are_code_defaults_under_the_demo_layer() -> None:
    settings = demo_settings(DEMO_URL, uuid.uuid4())
    assert settings.project_management.telemetry == AppSettings().project_management.telemetry
    assert settings.project_management.retry_policy.initial_delay == timedelta(milliseconds=50)
    assert settings.project_management.reconnection.stable_after == timedelta(seconds=2)


async def test_run_chaos_clients_come_from_the_container_built_from_the_given_settings() -> None:
    with OtlpReceiver() as receiver:
        settings = AppSettings.model_validate(
            {
                "ProjectManagement": {
                    "Telemetry": {
                        "Exporter": "otlp",
                        "OtlpEndpoint": receiver.endpoint,
                        "ServiceName": "pm-demo-test",
                    }
                }
            }
        )
        async with asyncio.timeout(60):
            report = await run_chaos(2.0, seed=3, workers=4, settings=settings)
        assert report.passed, report.failed_checks
        # Each container flushes its pipeline when it stops; the wait only bounds the HTTP delivery.
        await receiver.wait_for_spans_async("pm CreateWorkItem", "pm Subscribe", timeout=10)
    created = receiver.spans_named("pm CreateWorkItem")
    assert {span.resource["service.name"] for span in created} == {"pm-demo-test"}
    assert {span.resource["pm.demo.client"] for span in created} == {"writer"}
    assert {span.attributes["server.address"] for span in created} == {"127.0.0.1"}  # the demo's server
    subscribed = receiver.spans_named("pm Subscribe")
    assert {span.resource["pm.demo.client"] for span in subscribed} == {"subscriber"}


async def test_pm_demo_applies_config_environment_and_otel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    isolate_settings_sources(monkeypatch, tmp_path)
    with OtlpReceiver() as receiver:
        config = tmp_path / "appsettings.json"
        config.write_text(
            json.dumps(
                {"ProjectManagement": {"Telemetry": {"Exporter": "none", "OtlpEndpoint": receiver.endpoint}}}
            )
        )
        (tmp_path / "appsettings.ci.json").write_text(
            json.dumps({"ProjectManagement": {"Telemetry": {"ServiceName": "pm-demo-ci"}}})
        )
        arguments = ["demo", "--duration", "2", "--workers", "3", "--json"]
        arguments += ["--config", str(config), "--environment", "ci", "--otel", "otlp"]
        code = await asyncio.wait_for(asyncio.to_thread(main, arguments), timeout=60)
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report
        await receiver.wait_for_spans_async("pm CreateWorkItem", timeout=10)
    services = {span.resource["service.name"] for span in receiver.spans_named("pm CreateWorkItem")}
    assert services == {"pm-demo-ci"}


class _RefusingClient:
    """Answers every write with one exception: enough to exercise the engine's outcome ledger."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def create_work_item(self, *args: object, **kwargs: object) -> None:
        raise self.error

    async def delete_work_item(self, *args: object, **kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "hidden"),
    [
        (CircuitOpenException(timedelta(seconds=1)), False),  # refused before sending: not applied
        (ConnectionException("dropped"), True),  # may have applied: settled later
        (RequestTimeoutException("CreateWorkItem", timedelta(seconds=1)), True),
    ],
)
async def test_only_operations_that_may_have_applied_wait_to_be_settled(
    error: Exception, hidden: bool
) -> None:
    import random

    from projectmanagement_services.demo.ledger import Ledger
    from projectmanagement_services.demo.report import ChaosReport
    from projectmanagement_services.demo.workload import Workload

    ledger = Ledger()
    workload = Workload(1, ledger, ChaosReport(seed=1, duration_s=1.0, workers=1), asyncio.Event(), print)
    ledger.unknown_creates[0] = []
    ledger.unknown_deletes[0] = []
    client = _RefusingClient(error)
    item_id = uuid.uuid4()
    with pytest.raises(type(error)):
        await workload._create(client, uuid.uuid4(), 0, 1, {})  # type: ignore[arg-type]
    with pytest.raises(type(error)):
        await workload._delete(client, random.Random(0), {item_id: 1}, 0)  # type: ignore[arg-type]
    assert bool(ledger.unknown_creates[0]) is hidden
    assert ledger.unknown_deletes[0] == ([item_id] if hidden else [])
    assert ledger.items == 0  # nothing acknowledged either way
