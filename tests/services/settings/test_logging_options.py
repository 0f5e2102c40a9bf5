"""The Logging section: .NET level names mapped to Python logging levels."""

from __future__ import annotations

import logging

import pytest

from projectmanagement_services.settings import AppSettings, LoggingOptions, LogLevel


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("Trace", 5),
        ("Debug", logging.DEBUG),
        ("Information", logging.INFO),
        ("Warning", logging.WARNING),
        ("Error", logging.ERROR),
        ("Critical", logging.CRITICAL),
        ("None", logging.CRITICAL + 10),
        ("information", logging.INFO),
        ("WARNING", logging.WARNING),
    ],
)
def test_dotnet_level_names_map_to_python_levels(name: str, level: int) -> None:
    settings = AppSettings.load(None, env={"Logging__LogLevel__Default": name})
    assert settings.logging.default_level == level


def test_none_silences_even_critical() -> None:
    assert LogLevel.NONE.python_level > logging.CRITICAL


def test_default_level_is_information() -> None:
    assert AppSettings().logging.default_level == logging.INFO


def test_category_uses_longest_matching_prefix(write_settings) -> None:
    path = write_settings(
        {
            "Logging": {
                "LogLevel": {
                    "projectmanagement_services": "Warning",
                    "projectmanagement_services.resilience": "Debug",
                }
            }
        }
    )
    options = AppSettings.load(path, env={}).logging
    assert options.default_level == logging.INFO  # Default kept from code defaults (deep merge)
    assert options.level_for("projectmanagement_services.resilience.retry") == logging.DEBUG
    assert options.level_for("projectmanagement_services.websocket") == logging.WARNING
    assert options.level_for("projectmanagement_servicesX") == logging.INFO
    assert options.level_for("other") == logging.INFO


def test_apply_sets_root_and_category_levels() -> None:
    root = logging.getLogger()
    category = logging.getLogger("pm_settings_test.category")
    saved = root.level, category.level
    try:
        LoggingOptions(
            log_level={"Default": LogLevel.ERROR, "pm_settings_test.category": LogLevel.TRACE}
        ).apply()
        assert root.level == logging.ERROR
        assert category.level == 5
    finally:
        root.setLevel(saved[0])
        category.setLevel(saved[1])
