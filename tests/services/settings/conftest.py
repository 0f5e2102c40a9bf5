"""Helpers for settings tests: write JSON settings files into a temporary directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WriteSettings = Callable[..., Path]


@pytest.fixture
def write_settings(tmp_path: Path) -> WriteSettings:
    """``write_settings(document, name="appsettings.json")`` writes JSON and returns its path."""

    def write(document: Any, name: str = "appsettings.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return path

    return write
