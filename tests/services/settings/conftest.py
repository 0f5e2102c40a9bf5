"""Helpers for settings tests: JSON settings files in a temporary directory, no ambient variables."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.settings_environment import isolate_settings_sources

WriteSettings = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_settings_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that read ``os.environ`` see only the variables they set themselves."""
    isolate_settings_sources(monkeypatch)


@pytest.fixture
def write_settings(tmp_path: Path) -> WriteSettings:
    """``write_settings(document, name="appsettings.json")`` writes JSON and returns its path."""

    def write(document: Any, name: str = "appsettings.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    return write
