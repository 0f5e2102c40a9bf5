"""Each settings source, their precedence, and the per-key (deep) merge between them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from projectmanagement_services.resilience.options import JitterMode, RetryPolicyOptions
from projectmanagement_services.settings import AppSettings, LogLevel, SettingsError, SettingsWarning

REPO_SETTINGS = Path(__file__).resolve().parents[3] / "appsettings.json"


def test_committed_appsettings_loads_and_equals_code_defaults() -> None:
    loaded = AppSettings.load(REPO_SETTINGS, env={})
    assert loaded == AppSettings()


def test_committed_appsettings_documents_every_key() -> None:
    document = json.loads(REPO_SETTINGS.read_text(encoding="utf-8"))
    defaults = AppSettings().as_appsettings()

    def keys(tree: dict[str, object], prefix: str = "") -> set[str]:
        found: set[str] = set()
        for key, value in tree.items():
            found.add(prefix + key)
            if isinstance(value, dict) and key not in ("ResourceAttributes", "LogLevel"):
                found |= keys(value, prefix + key + ":")
        return found

    assert keys(document) == keys(defaults)


def test_missing_default_file_means_code_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert AppSettings.load(env={}) == AppSettings()


def test_default_file_in_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_settings
) -> None:
    write_settings({"ProjectManagement": {"CircuitBreaker": {"FailureThreshold": 7}}})
    monkeypatch.chdir(tmp_path)
    assert AppSettings.load(env={}).project_management.circuit_breaker.failure_threshold == 7


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(missing, env={})
    assert caught.value.errors == [("", f"settings file {missing} not found")]


def test_explicit_path_accepts_str(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 6}}}, "custom.json")
    assert AppSettings.load(str(path), env={}).project_management.retry_policy.max_attempts == 6


def test_malformed_json_names_file_and_position(write_settings) -> None:
    path = write_settings({}, "broken.json")
    path.write_text('{"ProjectManagement": {', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    ((key_path, message),) = caught.value.errors
    assert key_path == ""
    assert str(path) in message
    assert "not valid JSON" in message
    assert "line 1" in message


def test_json_that_is_not_an_object_is_an_error(write_settings) -> None:
    path = write_settings([1, 2], "list.json")
    with pytest.raises(SettingsError, match="must hold a JSON object"):
        AppSettings.load(path, env={})


def test_file_overrides_code_defaults_only_where_set(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 4}}})
    retry = AppSettings.load(path, env={}).project_management.retry_policy
    assert retry.max_attempts == 4
    assert retry.max_delay == RetryPolicyOptions().max_delay
    assert retry.initial_delay == RetryPolicyOptions().initial_delay


def test_environment_file_merges_per_key_over_base(write_settings) -> None:
    base = write_settings(
        {"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 4, "MaxDelay": "00:00:08", "Jitter": "full"}}}
    )
    write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 9}}}, "appsettings.Production.json")
    retry = AppSettings.load(base, environment="Production", env={}).project_management.retry_policy
    assert retry.max_attempts == 9
    assert retry.max_delay == timedelta(seconds=8)
    assert retry.jitter is JitterMode.FULL


def test_environment_name_comes_from_pm_environment(write_settings) -> None:
    base = write_settings({})
    write_settings(
        {"ProjectManagement": {"Telemetry": {"ServiceName": "staging-client"}}}, "appsettings.Staging.json"
    )
    loaded = AppSettings.load(base, env={"PM_ENVIRONMENT": "Staging"})
    assert loaded.project_management.telemetry.service_name == "staging-client"


def test_environment_argument_beats_pm_environment(write_settings) -> None:
    base = write_settings({})
    write_settings(
        {"ProjectManagement": {"Telemetry": {"ServiceName": "staging"}}}, "appsettings.Staging.json"
    )
    write_settings(
        {"ProjectManagement": {"Telemetry": {"ServiceName": "prod"}}}, "appsettings.Production.json"
    )
    loaded = AppSettings.load(base, environment="Production", env={"PM_ENVIRONMENT": "Staging"})
    assert loaded.project_management.telemetry.service_name == "prod"


def test_environment_file_is_optional(write_settings) -> None:
    base = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 4}}})
    with pytest.warns(SettingsWarning, match=r"appsettings\.Nowhere\.json does not exist"):
        loaded = AppSettings.load(base, environment="Nowhere", env={})
    assert loaded.project_management.retry_policy.max_attempts == 4


def test_environment_file_sits_beside_an_explicit_file(write_settings) -> None:
    base = write_settings({}, "client.json")
    write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 2}}}, "client.Dev.json")
    loaded = AppSettings.load(base, environment="Dev", env={})
    assert loaded.project_management.retry_policy.max_attempts == 2


def test_environment_variable_overrides_nested_key_of_files(write_settings) -> None:
    base = write_settings(
        {"ProjectManagement": {"CircuitBreaker": {"FailureThreshold": 3, "HalfOpenMaxProbes": 2}}}
    )
    write_settings(
        {"ProjectManagement": {"CircuitBreaker": {"FailureThreshold": 4}}}, "appsettings.Prod.json"
    )
    loaded = AppSettings.load(
        base, environment="Prod", env={"ProjectManagement__CircuitBreaker__FailureThreshold": "10"}
    )
    breaker = loaded.project_management.circuit_breaker
    assert breaker.failure_threshold == 10
    assert breaker.half_open_max_probes == 2


@pytest.mark.parametrize(
    "name",
    [
        "ProjectManagement__CircuitBreaker__FailureThreshold",
        "PROJECTMANAGEMENT__CIRCUITBREAKER__FAILURETHRESHOLD",
        "projectmanagement__circuitbreaker__failurethreshold",
        "projectManagement__circuit_breaker__failure_threshold",
    ],
)
def test_environment_variable_keys_are_case_insensitive(name: str) -> None:
    loaded = AppSettings.load(None, env={name: "10", "PM_ENVIRONMENT": ""})
    assert loaded.project_management.circuit_breaker.failure_threshold == 10


def test_unrelated_environment_variables_are_ignored() -> None:
    env = {"PATH": "/usr/bin", "HOME": "/root", "Other__Section__Key": "x", "ProjectManagement": "flat"}
    assert AppSettings.load(None, env=env) == AppSettings()


def test_environment_null_means_none_for_nullable_options() -> None:
    loaded = AppSettings.load(None, env={"ProjectManagement__Reconnection__MaxAttempts": "null"})
    assert loaded.project_management.reconnection.max_attempts is None


def test_environment_empty_value_unsets_nullable_option(write_settings) -> None:
    path = write_settings(
        {"ProjectManagement": {"WebSocket": {"UserId": "7f1d3c1e-0000-4000-8000-000000000001"}}}
    )
    loaded = AppSettings.load(path, env={"ProjectManagement__WebSocket__UserId": ""})
    assert loaded.project_management.web_socket.user_id is None


def test_environment_numbers_and_floats_are_parsed() -> None:
    loaded = AppSettings.load(
        None,
        env={
            "ProjectManagement__WebSocket__MaxPendingRequests": "50",
            "ProjectManagement__RetryPolicy__BackoffMultiplier": "1.5",
        },
    )
    assert loaded.project_management.web_socket.max_pending_requests == 50
    assert loaded.project_management.retry_policy.backoff_multiplier == 1.5


def test_environment_sets_dictionary_entries_and_keeps_others(write_settings) -> None:
    path = write_settings(
        {
            "ProjectManagement": {
                "Telemetry": {"ResourceAttributes": {"deployment.environment": "test", "team": "a"}}
            }
        }
    )
    loaded = AppSettings.load(path, env={"ProjectManagement__Telemetry__ResourceAttributes__team": "b"})
    assert loaded.project_management.telemetry.resource_attributes == {
        "deployment.environment": "test",
        "team": "b",
    }


def test_environment_sets_log_level() -> None:
    loaded = AppSettings.load(None, env={"Logging__LogLevel__Default": "warning"})
    assert loaded.logging.log_level["Default"] is LogLevel.WARNING


def test_overrides_beat_environment_variables(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 4}}})
    loaded = AppSettings.load(
        path,
        env={"ProjectManagement__RetryPolicy__MaxAttempts": "5"},
        overrides={"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 6}}},
    )
    assert loaded.project_management.retry_policy.max_attempts == 6


def test_overrides_accept_snake_case_and_merge_deeply(write_settings) -> None:
    path = write_settings({"ProjectManagement": {"RetryPolicy": {"MaxDelay": "00:00:09"}}})
    loaded = AppSettings.load(
        path, env={}, overrides={"project_management": {"retry_policy": {"max_attempts": 8}}}
    )
    retry = loaded.project_management.retry_policy
    assert retry.max_attempts == 8
    assert retry.max_delay == timedelta(seconds=9)


def test_overrides_accept_options_objects_and_python_values() -> None:
    retry = RetryPolicyOptions(max_attempts=2, initial_delay=timedelta(milliseconds=10))
    loaded = AppSettings.load(
        None,
        env={},
        overrides={
            "ProjectManagement": {"RetryPolicy": retry, "WebSocket": {"ConnectTimeout": timedelta(seconds=3)}}
        },
    )
    assert loaded.project_management.retry_policy == retry
    assert loaded.project_management.web_socket.connect_timeout == timedelta(seconds=3)


def test_full_precedence_chain(write_settings) -> None:
    """Five layers each set a different subset of one section; every key shows the last writer."""
    base = write_settings(
        {
            "ProjectManagement": {
                "WebSocket": {"ConnectTimeout": 1, "RequestTimeout": 2, "MaxPendingRequests": 11}
            }
        }
    )
    write_settings(
        {"ProjectManagement": {"WebSocket": {"RequestTimeout": 3, "MaxPendingRequests": 12}}},
        "appsettings.Test.json",
    )
    loaded = AppSettings.load(
        base,
        environment="Test",
        env={
            "ProjectManagement__WebSocket__MaxPendingRequests": "13",
            "projectmanagement__websocket__serverurl": "ws://h:1/ws",
        },
        overrides={"ProjectManagement": {"WebSocket": {"ServerUrl": "wss://override:2/ws"}}},
    )
    ws = loaded.project_management.web_socket
    assert ws.connect_timeout == timedelta(seconds=1)  # base file
    assert ws.request_timeout == timedelta(seconds=3)  # environment file
    assert ws.max_pending_requests == 13  # environment variable
    assert ws.server_url == "wss://override:2/ws"  # override
    assert ws.heartbeat_interval == timedelta(seconds=30)  # code default


def test_json_keys_are_case_insensitive_and_merge_with_canonical_spelling(write_settings) -> None:
    base = write_settings({"projectmanagement": {"retrypolicy": {"maxattempts": 4}}})
    write_settings({"ProjectManagement": {"RetryPolicy": {"MAXDELAY": "00:00:07"}}}, "appsettings.X.json")
    retry = AppSettings.load(base, environment="X", env={}).project_management.retry_policy
    assert retry.max_attempts == 4
    assert retry.max_delay == timedelta(seconds=7)


def test_other_top_level_sections_of_a_shared_file_are_ignored(write_settings) -> None:
    path = write_settings({"AllowedHosts": "*", "ConnectionStrings": {"Db": "x"}, "ProjectManagement": {}})
    assert AppSettings.load(path, env={}) == AppSettings()


def test_direct_construction_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ProjectManagement__RetryPolicy__MaxAttempts", "9")
    assert AppSettings().project_management.retry_policy.max_attempts == 3


def test_load_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ProjectManagement__RetryPolicy__MaxAttempts", "9")
    monkeypatch.delenv("PM_ENVIRONMENT", raising=False)
    assert AppSettings.load().project_management.retry_policy.max_attempts == 9


def test_settings_are_immutable() -> None:
    settings = AppSettings()
    with pytest.raises(ValueError, match="frozen"):
        settings.project_management.retry_policy.max_attempts = 5  # type: ignore[misc]


def test_as_appsettings_round_trips(write_settings) -> None:
    loaded = AppSettings.load(
        None,
        env={},
        overrides={"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 7, "InitialDelay": 0.25}}},
    )
    path = write_settings(loaded.as_appsettings(), "round.json")
    assert AppSettings.load(path, env={}) == loaded


def test_environment_file_is_read_even_without_default_base_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_settings
) -> None:
    write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 5}}}, "appsettings.Ci.json")
    monkeypatch.chdir(tmp_path)
    assert AppSettings.load(env={"PM_ENVIRONMENT": "Ci"}).project_management.retry_policy.max_attempts == 5
