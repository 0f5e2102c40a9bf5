"""Every duration format, from JSON files and from environment variables alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from projectmanagement_services.settings import AppSettings, SettingsError

FORMATS = [
    ("00:00:30", timedelta(seconds=30)),
    ("00:01:30", timedelta(seconds=90)),
    ("01:00:00", timedelta(hours=1)),
    ("1.00:00:00", timedelta(days=1)),
    ("1.02:03:04", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ("00:00:00.250", timedelta(milliseconds=250)),
    ("00:00:01.5", timedelta(seconds=1.5)),
    ("PT30S", timedelta(seconds=30)),
    ("PT1M30S", timedelta(seconds=90)),
    ("PT0.25S", timedelta(milliseconds=250)),
    ("P1DT2H", timedelta(days=1, hours=2)),
    ("pt2m", timedelta(minutes=2)),
    ("45", timedelta(seconds=45)),
    ("0.75", timedelta(seconds=0.75)),
]


@pytest.mark.parametrize(("text", "expected"), FORMATS)
def test_duration_formats_from_json(text: str, expected: timedelta, write_settings) -> None:
    path = write_settings({"ProjectManagement": {"CircuitBreaker": {"OpenDuration": text}}})
    loaded = AppSettings.load(path, env={})
    assert loaded.project_management.circuit_breaker.open_duration == expected


@pytest.mark.parametrize(("text", "expected"), FORMATS)
def test_duration_formats_from_environment(text: str, expected: timedelta) -> None:
    loaded = AppSettings.load(None, env={"ProjectManagement__CircuitBreaker__OpenDuration": text})
    assert loaded.project_management.circuit_breaker.open_duration == expected


@pytest.mark.parametrize(("number", "expected"), [(12, timedelta(seconds=12)), (0.5, timedelta(seconds=0.5))])
def test_json_numbers_are_seconds(number: float, expected: timedelta, write_settings) -> None:
    path = write_settings({"ProjectManagement": {"Reconnection": {"StableAfter": number}}})
    assert AppSettings.load(path, env={}).project_management.reconnection.stable_after == expected


@pytest.mark.parametrize("text", ["thirty seconds", "00:61:00", "25:00:00", "P", "1:2:3:4"])
def test_invalid_duration_names_the_key_and_the_formats(text: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__WebSocket__RequestTimeout": text})
    ((key_path, message),) = caught.value.errors
    assert key_path == "ProjectManagement:WebSocket:RequestTimeout"
    assert "TimeSpan" in message or "invalid TimeSpan" in message


@pytest.mark.parametrize("text", ["00:00:00", "0", "-00:00:05", "PT0S"])
def test_durations_that_must_be_positive_reject_zero_and_negative(text: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={"ProjectManagement__WebSocket__ConnectTimeout": text})
    assert caught.value.errors == [
        ("ProjectManagement:WebSocket:ConnectTimeout", "must be a positive duration")
    ]
