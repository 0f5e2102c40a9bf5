"""Every validation rule: its key path, its message, and all problems reported together."""

from __future__ import annotations

import pytest

from projectmanagement_services.settings import AppSettings, SettingsError


def errors_for(env: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env=env)
    return caught.value.errors


def single_error(**env: str) -> tuple[str, str]:
    (error,) = errors_for(env)
    return error


RULES = [
    # (environment variable suffix, value, key path, message)
    (
        "WebSocket__ServerUrl",
        "http://h/ws",
        "ProjectManagement:WebSocket:ServerUrl",
        "must be a ws:// or wss:// URL",
    ),
    (
        "WebSocket__ServerUrl",
        "ws://",
        "ProjectManagement:WebSocket:ServerUrl",
        "must be a ws:// or wss:// URL",
    ),
    (
        "WebSocket__HeartbeatTimeout",
        "00:00:30",
        "ProjectManagement:WebSocket:HeartbeatTimeout",
        "must be > HeartbeatInterval",
    ),
    ("WebSocket__MaxMessageSize", "10", "ProjectManagement:WebSocket:MaxMessageSize", "must be >= 1024"),
    ("WebSocket__MaxPendingRequests", "0", "ProjectManagement:WebSocket:MaxPendingRequests", "must be >= 1"),
    (
        "WebSocket__MaxPendingRequests",
        "ten",
        "ProjectManagement:WebSocket:MaxPendingRequests",
        "must be a whole number",
    ),
    ("WebSocket__UserId", "not-a-uuid", "ProjectManagement:WebSocket:UserId", "must be a UUID"),
    (
        "CircuitBreaker__FailureThreshold",
        "0",
        "ProjectManagement:CircuitBreaker:FailureThreshold",
        "must be >= 1",
    ),
    (
        "CircuitBreaker__HalfOpenSuccessThreshold",
        "0",
        "ProjectManagement:CircuitBreaker:HalfOpenSuccessThreshold",
        "must be >= 1",
    ),
    (
        "CircuitBreaker__HalfOpenMaxProbes",
        "-1",
        "ProjectManagement:CircuitBreaker:HalfOpenMaxProbes",
        "must be >= 1",
    ),
    (
        "CircuitBreaker__OpenDuration",
        "0",
        "ProjectManagement:CircuitBreaker:OpenDuration",
        "must be a positive duration",
    ),
    (
        "CircuitBreaker__FailureWindow",
        "0",
        "ProjectManagement:CircuitBreaker:FailureWindow",
        "must be a positive duration",
    ),
    ("RetryPolicy__MaxAttempts", "0", "ProjectManagement:RetryPolicy:MaxAttempts", "must be >= 1"),
    (
        "RetryPolicy__MaxDelay",
        "00:00:00.050",
        "ProjectManagement:RetryPolicy:MaxDelay",
        "must be >= InitialDelay",
    ),
    (
        "RetryPolicy__BackoffMultiplier",
        "0.5",
        "ProjectManagement:RetryPolicy:BackoffMultiplier",
        "must be >= 1.0",
    ),
    (
        "RetryPolicy__BackoffMultiplier",
        "fast",
        "ProjectManagement:RetryPolicy:BackoffMultiplier",
        "must be a number",
    ),
    (
        "RetryPolicy__Jitter",
        "random",
        "ProjectManagement:RetryPolicy:Jitter",
        "must be one of 'proportional', 'full' or 'decorrelated'",
    ),
    (
        "RetryPolicy__InitialDelay",
        "0",
        "ProjectManagement:RetryPolicy:InitialDelay",
        "must be a positive duration",
    ),
    ("Reconnection__MaxAttempts", "0", "ProjectManagement:Reconnection:MaxAttempts", "must be >= 1"),
    (
        "Reconnection__MaxDelay",
        "00:00:00.5",
        "ProjectManagement:Reconnection:MaxDelay",
        "must be >= InitialDelay",
    ),
    (
        "Reconnection__InitialDelay",
        "0",
        "ProjectManagement:Reconnection:InitialDelay",
        "must be a positive duration",
    ),
    (
        "Telemetry__Exporter",
        "jaeger",
        "ProjectManagement:Telemetry:Exporter",
        "must be one of 'none', 'console', 'otlp' or 'prometheus'",
    ),
    ("Telemetry__ServiceName", "", "ProjectManagement:Telemetry:ServiceName", "must not be empty"),
    ("Telemetry__PrometheusPort", "70000", "ProjectManagement:Telemetry:PrometheusPort", "must be <= 65535"),
    ("Telemetry__PrometheusPort", "-1", "ProjectManagement:Telemetry:PrometheusPort", "must be >= 0"),
    ("Telemetry__SamplingRatio", "1.5", "ProjectManagement:Telemetry:SamplingRatio", "must be <= 1.0"),
    ("Telemetry__SamplingRatio", "-0.1", "ProjectManagement:Telemetry:SamplingRatio", "must be >= 0.0"),
    (
        "Telemetry__SamplingRatio",
        "nan",
        "ProjectManagement:Telemetry:SamplingRatio",
        "must be a finite number",
    ),
    (
        "Settings__ReloadOnChange",
        "maybe",
        "ProjectManagement:Settings:ReloadOnChange",
        "must be true or false",
    ),
    (
        "Telemetry__OtlpEndpoint",
        "grpc://collector:4317",
        "ProjectManagement:Telemetry:OtlpEndpoint",
        "must be an http:// or https:// URL with a host",
    ),
    (
        "WebSocket__Bogus",
        "1",
        "ProjectManagement:WebSocket:Bogus",
        "is not a known setting (check its spelling)",
    ),
    ("Bogus", "1", "ProjectManagement:Bogus", "is not a known setting (check its spelling)"),
]


@pytest.mark.parametrize(
    ("suffix", "value", "key_path", "message"), RULES, ids=[f"{r[0]}={r[1]}" for r in RULES]
)
def test_rule_names_key_path_and_message(suffix: str, value: str, key_path: str, message: str) -> None:
    name = f"ProjectManagement__{suffix}"
    found_path, found_message = single_error(**{name: value})
    assert found_path == key_path
    assert found_message.startswith(message)


def test_error_line_reads_as_key_path_then_message_then_source() -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__RetryPolicy__MaxDelay": "00:00:00.050"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid settings (1 error):"
    assert lines[1] == (
        "ProjectManagement:RetryPolicy:MaxDelay must be >= InitialDelay "
        "(from environment variable ProjectManagement__RetryPolicy__MaxDelay)"
    )


def test_source_of_a_bad_value_is_its_file(write_settings) -> None:
    base = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 2}}})
    env_file = write_settings(
        {"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 0}}}, "appsettings.Bad.json"
    )
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(base, environment="Bad", env={})
    assert caught.value.sources == {"ProjectManagement:RetryPolicy:MaxAttempts": str(env_file)}
    assert f"(from {env_file})" in str(caught.value)


def test_logging_level_is_validated_and_case_insensitive() -> None:
    assert single_error(Logging__LogLevel__Default="Verbose") == (
        "Logging:LogLevel:Default",
        "must be one of 'Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical' or 'None'",
    )


def test_section_that_is_not_an_object(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"RetryPolicy": 5}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    assert caught.value.errors == [("ProjectManagement:RetryPolicy", "must be a section (a JSON object)")]


def test_unknown_key_in_overrides_is_reported() -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={}, overrides={"ProjectManagment": {}})
    assert caught.value.errors == [("ProjectManagment", "is not a known setting (check its spelling)")]


def test_every_problem_is_reported_at_once(write_settings) -> None:
    path = write_settings(
        {
            "ProjectManagement": {
                "WebSocket": {"ServerUrl": "http://wrong", "MaxPendingRequests": 0},
                "CircuitBreaker": {"FailureThreshold": 0},
                "RetryPolicy": {"InitialDelay": "00:00:02", "MaxDelay": "00:00:01"},
                "Reconnection": {"InitialDelay": "00:00:10", "MaxDelay": "00:00:05"},
                "Telemetry": {"Exporter": "zipkin"},
                "Typo": 1,
            },
            "Logging": {"LogLevel": {"Default": "Loud"}},
        }
    )
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={"ProjectManagement__WebSocket__HeartbeatInterval": "00:05:00"})
    paths = [key_path for key_path, _ in caught.value.errors]
    assert sorted(paths) == sorted(
        [
            "ProjectManagement:WebSocket:ServerUrl",
            "ProjectManagement:WebSocket:HeartbeatTimeout",
            "ProjectManagement:WebSocket:MaxPendingRequests",
            "ProjectManagement:CircuitBreaker:FailureThreshold",
            "ProjectManagement:RetryPolicy:MaxDelay",
            "ProjectManagement:Reconnection:MaxDelay",
            "ProjectManagement:Telemetry:Exporter",
            "ProjectManagement:Typo",
            "Logging:LogLevel:Default",
        ]
    )
    text = str(caught.value)
    assert text.splitlines()[0] == "invalid settings (9 errors):"
    assert len(text.splitlines()) == 10
    assert "ProjectManagement:RetryPolicy:MaxDelay must be >= InitialDelay" in text
    assert "ProjectManagement:Reconnection:MaxDelay must be >= InitialDelay" in text


def test_file_problems_and_value_problems_are_reported_together(write_settings, tmp_path) -> None:
    broken = write_settings({}, "appsettings.Broken.json")
    broken.write_text("{not json", encoding="utf-8")
    base = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 0}}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(base, environment="Broken", env={})
    assert [path for path, _ in caught.value.errors] == ["", "ProjectManagement:RetryPolicy:MaxAttempts"]


def test_settings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="CircuitBreaker:FailureThreshold"):
        AppSettings.load(None, env={"ProjectManagement__CircuitBreaker__FailureThreshold": "0"})


def test_settings_error_hides_the_pydantic_error_chain() -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__CircuitBreaker__FailureThreshold": "0"})
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
