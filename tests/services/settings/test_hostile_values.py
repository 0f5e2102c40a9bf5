"""Settings given hostile or absurd values fail at start-up, each on its own key and rule (issue 14).

Every duration option is tried with every kind of overflowing or non-finite value, from a file and
from the environment alike: each must be one ``SettingsError`` naming the key, never an
``OverflowError`` from deep inside ``timedelta``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import BaseModel

from projectmanagement_services.settings import (
    AppSettings,
    ProjectManagementSettings,
    SettingsError,
    SettingsWarning,
)
from projectmanagement_services.telemetry import TelemetryOptions


def _options_fields(kind: type) -> list[tuple[str, str]]:
    """(section, key) of every ``ProjectManagement`` option whose type is ``kind`` (alone or optional)."""
    found = []
    for section_name, section in ProjectManagementSettings.model_fields.items():
        model = section.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        for name, field in model.model_fields.items():
            annotation = field.annotation
            members = getattr(annotation, "__args__", (annotation,))
            if kind in members and bool not in members:
                found.append((section.alias or section_name, field.alias or name))
    return found


DURATION_OPTIONS = _options_fields(timedelta)
NUMBER_OPTIONS = _options_fields(int) + _options_fields(float)
#: Each overflows ``timedelta`` or is not a number at all; JSON numbers and texts both.
OVERFLOWING = [
    float("inf"),
    float("-inf"),
    float("nan"),
    "inf",
    "-inf",
    "NaN",
    "1e400",
    "1e999",
    10**20,
    "99999999999.00:00:00",
    "P99999999999D",
    "PT99999999999H",
    "P1" + "0" * 400 + "W",
]


def test_every_duration_option_is_found() -> None:
    # The 12 of today; a new duration option joins the parametrized tests below by itself.
    assert len(DURATION_OPTIONS) >= 12
    assert ("CircuitBreaker", "OpenDuration") in DURATION_OPTIONS


def _only_error(caught: pytest.ExceptionInfo[SettingsError]) -> tuple[str, str]:
    assert len(caught.value.errors) == 1, caught.value.errors
    return caught.value.errors[0]


@pytest.mark.parametrize("value", OVERFLOWING, ids=lambda v: str(v)[:24])
@pytest.mark.parametrize(("section", "key"), DURATION_OPTIONS, ids=lambda v: str(v))
def test_an_overflowing_duration_in_a_file_is_one_error_on_its_key(
    section: str, key: str, value: Any, write_settings
) -> None:
    path = write_settings({"ProjectManagement": {section: {key: value}}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    key_path, message = _only_error(caught)
    assert key_path == f"ProjectManagement:{section}:{key}"
    assert "finite" in message or "at most 7.00:00:00" in message


@pytest.mark.parametrize("value", OVERFLOWING, ids=lambda v: str(v)[:24])
@pytest.mark.parametrize(("section", "key"), DURATION_OPTIONS, ids=lambda v: str(v))
def test_an_overflowing_duration_in_the_environment_is_one_error_on_its_key(
    section: str, key: str, value: Any
) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={f"ProjectManagement__{section}__{key}": str(value)})
    key_path, message = _only_error(caught)
    assert key_path == f"ProjectManagement:{section}:{key}"
    assert "finite" in message or "at most 7.00:00:00" in message


def test_a_week_is_the_longest_duration() -> None:
    loaded = AppSettings.load(None, env={"ProjectManagement__CircuitBreaker__FailureWindow": "7.00:00:00"})
    assert loaded.project_management.circuit_breaker.failure_window == timedelta(days=7)


@pytest.mark.parametrize(("section", "key"), NUMBER_OPTIONS, ids=lambda v: str(v))
def test_every_number_option_has_an_upper_bound(section: str, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={f"ProjectManagement__{section}__{key}": str(2**63)})
    key_path, message = _only_error(caught)
    assert key_path == f"ProjectManagement:{section}:{key}"
    assert message.startswith("must be <=")


@pytest.mark.parametrize(("section", "key"), NUMBER_OPTIONS, ids=lambda v: str(v))
def test_a_boolean_is_refused_for_a_number(section: str, key: str, write_settings) -> None:
    path = write_settings({"ProjectManagement": {section: {key: True}}})
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    assert _only_error(caught) == (
        f"ProjectManagement:{section}:{key}",
        "must be a number, not true or false",
    )


@pytest.mark.parametrize("value", ["inf", "NaN", "1e400"])
def test_a_non_finite_multiplier_is_refused(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__RetryPolicy__BackoffMultiplier": value})
    key_path, _ = _only_error(caught)
    assert key_path == "ProjectManagement:RetryPolicy:BackoffMultiplier"


def test_every_bad_key_is_reported_on_its_own_rule(write_settings) -> None:
    path = write_settings(
        {
            "ProjectManagement": {
                "RetryPolicy": {"MaxDelay": -5, "MaxAttempts": 0},
                "CircuitBreaker": {"FailureThreshold": True, "OpenDuration": "inf"},
                "WebSocket": {"ServerUrl": "ws://127.0.0.1:99999/ws"},
            }
        }
    )
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(path, env={})
    errors = dict(caught.value.errors)
    assert errors["ProjectManagement:RetryPolicy:MaxDelay"] == "must be a positive duration"
    assert errors["ProjectManagement:RetryPolicy:MaxAttempts"] == "must be >= 1"
    assert (
        errors["ProjectManagement:CircuitBreaker:FailureThreshold"] == "must be a number, not true or false"
    )
    assert errors["ProjectManagement:CircuitBreaker:OpenDuration"] == "must be a finite duration"
    assert "port between 1 and 65535" in errors["ProjectManagement:WebSocket:ServerUrl"]
    assert len(errors) == 5


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:99999/ws", "ws://127.0.0.1:abc/ws", "wss://example.test:0/ws"]
)
def test_a_server_url_with_an_impossible_port_fails_at_start_up(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__WebSocket__ServerUrl": url})
    key_path, message = _only_error(caught)
    assert key_path == "ProjectManagement:WebSocket:ServerUrl"
    assert "port between 1 and 65535" in message


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://127.0.0.1:abc"])
def test_an_otlp_endpoint_with_an_impossible_port_fails_at_start_up(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__Telemetry__OtlpEndpoint": url})
    assert _only_error(caught)[0] == "ProjectManagement:Telemetry:OtlpEndpoint"


def test_telemetry_options_defaults_stay_valid() -> None:
    assert TelemetryOptions().otlp_endpoint.startswith("http://")


# -- CaFile -------------------------------------------------------------------------------------


def _ca_error(ca_file: Path) -> tuple[str, str]:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(
            None,
            env={
                "ProjectManagement__WebSocket__ServerUrl": "wss://example.test/ws",
                "ProjectManagement__WebSocket__CaFile": str(ca_file),
            },
        )
    return _only_error(caught)


def test_a_missing_ca_file_fails_at_start_up(tmp_path: Path) -> None:
    key_path, message = _ca_error(tmp_path / "missing.pem")
    assert key_path == "ProjectManagement:WebSocket:CaFile"
    assert "does not exist" in message


def test_a_directory_as_ca_file_fails_at_start_up(tmp_path: Path) -> None:
    key_path, message = _ca_error(tmp_path)
    assert key_path == "ProjectManagement:WebSocket:CaFile"
    assert "is not a file" in message


def test_a_ca_file_that_is_no_certificate_bundle_fails_at_start_up(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    key_path, message = _ca_error(junk)
    assert key_path == "ProjectManagement:WebSocket:CaFile"
    assert "not a PEM certificate bundle" in message


def test_a_real_ca_bundle_is_accepted(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    loaded = AppSettings.load(
        None,
        env={
            "ProjectManagement__WebSocket__ServerUrl": "wss://example.test/ws",
            "ProjectManagement__WebSocket__CaFile": str(bundle),
        },
    )
    assert loaded.project_management.web_socket.ca_file == bundle


# -- AuthToken ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: 1", "abc\ndef", "tökén", "abc\x00"])
def test_a_token_that_cannot_be_a_header_fails_at_start_up_without_echoing_it(token: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__WebSocket__AuthToken": token})
    key_path, message = _only_error(caught)
    assert key_path == "ProjectManagement:WebSocket:AuthToken"
    assert message == "must be printable ASCII (no line breaks, no non-ASCII characters)"
    assert token not in str(caught.value)


@pytest.mark.parametrize("host", ["example.test", "10.0.0.1", "[2001:db8::1]"])
def test_a_token_in_clear_to_another_host_is_refused(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(
            None,
            env={
                "ProjectManagement__WebSocket__ServerUrl": f"ws://{host}:8000/ws",
                "ProjectManagement__WebSocket__AuthToken": "s3cret-token",
            },
        )
    key_path, message = _only_error(caught)
    assert key_path == "ProjectManagement:WebSocket:AuthToken"
    assert "in clear over ws://" in message
    assert "AllowInsecureToken" in message
    assert "s3cret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("ws://127.0.0.1:8000/ws", False),
        ("ws://localhost:8000/ws", False),
        ("ws://[::1]:8000/ws", False),
        ("wss://example.test/ws", False),
        ("ws://10.0.0.1:8000/ws", True),
    ],
)
def test_a_token_is_accepted_on_loopback_over_tls_or_when_allowed(url: str, allow: bool) -> None:
    loaded = AppSettings.load(
        None,
        env={
            "ProjectManagement__WebSocket__ServerUrl": url,
            "ProjectManagement__WebSocket__AuthToken": "s3cret-token",
            "ProjectManagement__WebSocket__AllowInsecureToken": str(allow).lower(),
        },
    )
    assert loaded.project_management.web_socket.auth_token is not None


# -- files and environments ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", "x y", "é"])
def test_an_environment_name_that_is_no_file_name_is_an_error(name: str, write_settings) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(write_settings({}), environment=name, env={})
    assert "must be letters, digits" in _only_error(caught)[1]


def test_an_environment_file_differing_in_case_is_named(write_settings) -> None:
    base = write_settings({})
    write_settings({"ProjectManagement": {"RetryPolicy": {"MaxAttempts": 2}}}, "appsettings.Staging.json")
    with pytest.warns(
        SettingsWarning, match=r"appsettings\.staging\.json does not exist.*appsettings\.Staging\.json"
    ):
        AppSettings.load(base, env={"PM_ENVIRONMENT": "staging"})


def test_a_misspelt_section_is_warned_about_and_a_host_section_is_not(write_settings) -> None:
    path = write_settings(
        {"ProjectMangement": {"RetryPolicy": {"MaxAttempts": 2}}, "ConnectionStrings": {"Db": "x"}}
    )
    with pytest.warns(SettingsWarning) as caught:
        AppSettings.load(path, env={})
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "'ProjectMangement' is not read (did you mean 'ProjectManagement'?)" in messages[0]


def test_settings_documents_are_plain_json(write_settings) -> None:
    # json.dumps writes Infinity/NaN for non-finite floats; the loader must read them (and refuse them).
    path = write_settings({"ProjectManagement": {"WebSocket": {"RequestTimeout": float("inf")}}})
    assert "Infinity" in path.read_text()
    assert json.loads(path.read_text())["ProjectManagement"]["WebSocket"]["RequestTimeout"] == float("inf")
