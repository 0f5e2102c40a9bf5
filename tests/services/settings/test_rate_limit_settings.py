"""``ProjectManagement:RateLimit``: pm-server's defaults, ``null`` = off, validated by key path."""

from __future__ import annotations

from datetime import timedelta

import pytest

from projectmanagement_services.settings import AppSettings, SettingsError


def test_defaults_are_pm_servers() -> None:
    options = AppSettings().project_management.rate_limit
    assert (options.burst, options.period, options.enabled) == (100, timedelta(minutes=1), True)


def test_file_sets_burst_and_period(write_settings) -> None:  # type: ignore[no-untyped-def]
    path = write_settings({"ProjectManagement": {"RateLimit": {"Burst": 1000, "Period": "00:00:30"}}})
    options = AppSettings.load(path, env={}).project_management.rate_limit
    assert (options.burst, options.period) == (1000, timedelta(seconds=30))


@pytest.mark.parametrize("document", [{"RateLimit": None}, {"RateLimit": {"Burst": None}}])
def test_null_turns_client_side_limiting_off(write_settings, document: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    path = write_settings({"ProjectManagement": document})
    assert not AppSettings.load(path, env={}).project_management.rate_limit.enabled


@pytest.mark.parametrize(
    "env",
    [{"ProjectManagement__RateLimit__Burst": "null"}, {"ProjectManagement__RateLimit": "null"}],
)
def test_null_from_the_environment_turns_it_off(env: dict[str, str]) -> None:
    assert not AppSettings.load(None, env=env).project_management.rate_limit.enabled


def test_environment_period_accepts_timespans() -> None:
    settings = AppSettings.load(None, env={"ProjectManagement__RateLimit__Period": "00:00:00.050"})
    assert settings.project_management.rate_limit.period == timedelta(milliseconds=50)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("Burst", "0", "must be >= 1"),
        ("Burst", "10001", "must be <= 10000"),
        ("Period", "00:00:00", "must be a positive duration of at most 01:00:00"),
        ("Period", "02:00:00", "must be a positive duration of at most 01:00:00"),
    ],
)
def test_bad_values_name_their_key(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AppSettings.load(None, env={f"ProjectManagement__RateLimit__{key}": value})
    assert caught.value.errors == [(f"ProjectManagement:RateLimit:{key}", message)]
