"""Every container test sees code defaults plus what it passes, whatever machine runs it."""

from __future__ import annotations

import pytest

from tests.support.settings_environment import isolate_settings_sources


@pytest.fixture(autouse=True)
def _hermetic_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No settings variables from the environment and an empty working directory (no appsettings.json)."""
    isolate_settings_sources(monkeypatch, tmp_path_factory.mktemp("cwd"))
