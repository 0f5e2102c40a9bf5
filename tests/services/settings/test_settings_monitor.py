"""SettingsMonitor: reloads driven through ``reload()``, the entry point the file watcher calls.

No watcher and no waiting here: each test rewrites the settings file and calls ``reload()``.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from projectmanagement_services import create_container
from projectmanagement_services.resilience.options import CircuitBreakerOptions
from projectmanagement_services.settings import AppSettings, SettingsError, SettingsWarning
from projectmanagement_services.settings_monitor import SettingsMonitor, SettingsReload, SettingsSource


def write(path: Path, project_management: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"ProjectManagement": project_management}), encoding="utf-8")
    return path


BASE: dict[str, Any] = {
    "WebSocket": {"ServerUrl": "ws://127.0.0.1:9/ws", "AuthToken": "old-token"},
    "CircuitBreaker": {"FailureThreshold": 5},
    "RetryPolicy": {"MaxAttempts": 3},
}


def with_changes(**sections: dict[str, Any]) -> dict[str, Any]:
    merged = {name: dict(values) for name, values in BASE.items()}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return merged


class Recorder:
    """A component with ``update_options``, as any registered component (the rate limiter, say)."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def update_options(self, options: Any) -> None:
        self.received.append(options)


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return write(tmp_path / "appsettings.json", BASE)


@pytest.fixture
def source(settings_file: Path) -> SettingsSource:
    return SettingsSource(settings_file, env={})


def events(monitor: SettingsMonitor) -> tuple[list[SettingsReload], list[SettingsError]]:
    reloaded: list[SettingsReload] = []
    failed: list[SettingsError] = []
    monitor.on_reloaded.subscribe(reloaded.append)
    monitor.on_reload_failed.subscribe(failed.append)
    return reloaded, failed


def test_a_valid_change_reaches_the_registered_component_and_the_event(
    settings_file: Path, source: SettingsSource
) -> None:
    monitor = SettingsMonitor(source.load(), source)
    breaker = Recorder()
    monitor.register(
        "ProjectManagement:CircuitBreaker",
        breaker.update_options,
        lambda s: s.project_management.circuit_breaker,
    )
    reloaded, failed = events(monitor)

    write(settings_file, with_changes(CircuitBreaker={"FailureThreshold": 9, "OpenDuration": "00:00:05"}))
    result = monitor.reload()

    assert result is not None
    assert breaker.received == [
        CircuitBreakerOptions(failure_threshold=9, open_duration=timedelta(seconds=5))
    ]
    assert result.changed == (
        "ProjectManagement:CircuitBreaker:FailureThreshold",
        "ProjectManagement:CircuitBreaker:OpenDuration",
    )
    assert result.applied == result.changed
    assert result.restart_required == ()
    assert reloaded == [result]
    assert failed == []
    assert monitor.current.project_management.circuit_breaker.failure_threshold == 9
    assert result.previous.project_management.circuit_breaker.failure_threshold == 5


def test_nothing_changed_means_no_event_and_no_call(source: SettingsSource) -> None:
    monitor = SettingsMonitor(source.load(), source)
    component = Recorder()
    monitor.register("ProjectManagement:RetryPolicy", component.update_options, lambda s: s)
    reloaded, failed = events(monitor)
    assert monitor.reload() is None
    assert (reloaded, failed, component.received) == ([], [], [])


def test_keys_no_component_applies_are_reported_as_needing_a_restart_until_put_back(
    settings_file: Path, source: SettingsSource
) -> None:
    monitor = SettingsMonitor(source.load(), source)
    retry = Recorder()
    monitor.register(
        "ProjectManagement:RetryPolicy", retry.update_options, lambda s: s.project_management.retry_policy
    )

    write(
        settings_file,
        with_changes(WebSocket={"ServerUrl": "wss://10.0.0.1:8000/ws", "AuthToken": "new-token"}),
    )
    first = monitor.reload()
    assert first is not None
    restart = (
        "ProjectManagement:WebSocket:AuthToken",
        "ProjectManagement:WebSocket:ServerUrl",
    )
    assert (first.applied, first.restart_required) == ((), restart)
    assert retry.received == []

    # A later live change still lists the pending restart keys, and applies its own.
    write(
        settings_file,
        with_changes(
            WebSocket={"ServerUrl": "wss://10.0.0.1:8000/ws", "AuthToken": "new-token"},
            RetryPolicy={"MaxAttempts": 7},
        ),
    )
    second = monitor.reload()
    assert second is not None
    assert second.changed == ("ProjectManagement:RetryPolicy:MaxAttempts",)
    assert second.applied == ("ProjectManagement:RetryPolicy:MaxAttempts",)
    assert second.restart_required == restart
    assert [options.max_attempts for options in retry.received] == [7]

    # Put back as the components started: nothing waits for a restart any more.
    write(settings_file, with_changes(RetryPolicy={"MaxAttempts": 7}))
    third = monitor.reload()
    assert third is not None
    assert third.restart_required == ()


def test_secret_values_never_appear_in_the_report_or_the_log(
    settings_file: Path, source: SettingsSource, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = SettingsMonitor(source.load(), source)
    write(settings_file, with_changes(WebSocket={"AuthToken": "brand-new-secret"}))
    with caplog.at_level(logging.DEBUG):
        result = monitor.reload()
    assert result is not None
    assert result.restart_required == ("ProjectManagement:WebSocket:AuthToken",)
    assert "brand-new-secret" not in repr(result)
    assert "brand-new-secret" not in caplog.text
    assert "old-token" not in caplog.text


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (
            with_changes(RetryPolicy={"InitialDelay": "00:00:02", "MaxDelay": "00:00:01"}),
            "ProjectManagement:RetryPolicy:MaxDelay must be >= InitialDelay",
        ),
        (
            with_changes(CircuitBreaker={"FailureThreshold": 0}),
            "ProjectManagement:CircuitBreaker:FailureThreshold",
        ),
        (with_changes(CircuitBreaker={"FailureTreshold": 3}), "FailureTreshold is not a known setting"),
    ],
)
def test_invalid_settings_keep_the_old_ones_log_one_line_naming_the_key_and_raise_the_event(
    settings_file: Path,
    source: SettingsSource,
    caplog: pytest.LogCaptureFixture,
    document: dict[str, Any],
    named: str,
) -> None:
    initial = source.load()
    monitor = SettingsMonitor(initial, source)
    component = Recorder()
    monitor.register("ProjectManagement:CircuitBreaker", component.update_options, lambda s: s)
    monitor.register("ProjectManagement:RetryPolicy", component.update_options, lambda s: s)
    reloaded, failed = events(monitor)

    write(settings_file, document)
    with caplog.at_level(logging.WARNING, logger="projectmanagement_services.settings_monitor"):
        assert monitor.reload() is None

    assert monitor.current is initial
    assert component.received == []
    assert reloaded == []
    assert len(failed) == 1
    assert isinstance(failed[0], SettingsError)
    (record,) = caplog.records
    assert "\n" not in record.getMessage()
    assert named in record.getMessage()
    assert str(settings_file) in record.getMessage()


def test_a_half_written_file_is_rejected_and_the_next_write_applies(
    settings_file: Path, source: SettingsSource
) -> None:
    monitor = SettingsMonitor(source.load(), source)
    reloaded, failed = events(monitor)
    settings_file.write_text('{"ProjectManagement": {"RetryPolicy": {"MaxAtt', encoding="utf-8")
    assert monitor.reload() is None
    assert "is not valid JSON" in str(failed[0])
    write(settings_file, with_changes(RetryPolicy={"MaxAttempts": 4}))
    assert monitor.reload() is not None
    assert monitor.current.project_management.retry_policy.max_attempts == 4
    assert len(reloaded) == 1


def test_keys_limit_what_a_section_applies_live(settings_file: Path, source: SettingsSource) -> None:
    monitor = SettingsMonitor(source.load(), source)
    client = Recorder()
    monitor.register(
        "ProjectManagement:WebSocket",
        client.update_options,
        lambda s: s.project_management.web_socket,
        keys=("heartbeat_interval", "HeartbeatTimeout"),
    )
    write(
        settings_file,
        with_changes(WebSocket={"HeartbeatInterval": "00:00:05", "MaxPendingRequests": 10}),
    )
    result = monitor.reload()
    assert result is not None
    assert result.applied == ("ProjectManagement:WebSocket:HeartbeatInterval",)
    assert result.restart_required == ("ProjectManagement:WebSocket:MaxPendingRequests",)
    assert client.received[0].heartbeat_interval == timedelta(seconds=5)
    assert monitor.is_live("projectmanagement:websocket:heartbeattimeout")
    assert not monitor.is_live("ProjectManagement:WebSocket:ServerUrl")


def test_a_component_that_fails_to_apply_is_logged_and_the_others_still_apply(
    settings_file: Path, source: SettingsSource, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = SettingsMonitor(source.load(), source)

    def broken(_options: object) -> None:
        raise ValueError("cannot")

    retry = Recorder()
    monitor.register("ProjectManagement:CircuitBreaker", broken, lambda s: s)
    monitor.register("ProjectManagement:RetryPolicy", retry.update_options, lambda s: s)
    write(settings_file, with_changes(CircuitBreaker={"FailureThreshold": 2}, RetryPolicy={"MaxAttempts": 2}))
    with caplog.at_level(logging.ERROR):
        result = monitor.reload()
    assert result is not None
    assert result.applied == ("ProjectManagement:RetryPolicy:MaxAttempts",)
    assert len(retry.received) == 1
    assert "ProjectManagement:CircuitBreaker could not apply" in caplog.text


def test_settings_built_in_code_have_nothing_to_reload() -> None:
    monitor = SettingsMonitor(AppSettings())
    assert monitor.reload() is None


def test_the_environment_file_is_watched_and_layered(tmp_path: Path) -> None:
    base = write(tmp_path / "appsettings.json", BASE)
    source = SettingsSource(base, environment="Production", env={})
    assert source.files() == (base, tmp_path / "appsettings.Production.json")
    with pytest.warns(SettingsWarning, match=r"appsettings\.Production\.json does not exist"):
        monitor = SettingsMonitor(source.load(), source)
    write(tmp_path / "appsettings.Production.json", {"RetryPolicy": {"MaxAttempts": 6}})
    result = monitor.reload()
    assert result is not None
    assert result.changed == ("ProjectManagement:RetryPolicy:MaxAttempts",)


def test_the_container_registers_breaker_retry_reconnection_client_and_rate_limiter(tmp_path: Path) -> None:
    path = write(tmp_path / "appsettings.json", BASE)
    container = create_container(config_path=path)
    monitor = container.settings_monitor()
    document = with_changes(
        CircuitBreaker={"FailureThreshold": 2},
        RetryPolicy={"MaxAttempts": 6},
        Reconnection={"MaxAttempts": None},
        RateLimit={"Burst": 7, "Period": "00:00:02"},
        WebSocket={
            "HeartbeatInterval": "00:00:03",
            "HeartbeatTimeout": "00:00:09",
            "ServerUrl": "wss://h:1/ws",
        },
        Telemetry={"Exporter": "console"},
    )
    write(path, document)
    result = monitor.reload()
    assert result is not None
    assert container.circuit_breaker().options.failure_threshold == 2
    assert container.retry_policy().options.max_attempts == 6
    assert container.reconnection().options.max_attempts is None
    limiter = container.rate_limiter()
    assert (limiter.burst, limiter.period) == (7, timedelta(seconds=2))
    assert container.inner_client().rate_limiter is limiter  # the client paces with the new numbers
    client_options = container.inner_client().options
    assert client_options.heartbeat_interval == timedelta(seconds=3)
    assert client_options.heartbeat_timeout == timedelta(seconds=9)
    assert client_options.server_url == "ws://127.0.0.1:9/ws"  # needs a restart: the old one stays
    assert result.restart_required == (
        "ProjectManagement:Telemetry:Exporter",
        "ProjectManagement:WebSocket:ServerUrl",
    )
