"""Suite-wide test configuration.

Hypothesis runs with a profile chosen by the environment: ``ci`` (selected when ``CI`` is set, as
the CI runner does) derandomizes example generation so that the single CI run is repeatable, and
no profile enforces per-example deadlines, because a loaded 2-core machine makes wall-clock
deadlines a source of flakes rather than a measure of anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _no_remembered_pm_user(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """``pm`` never reads the machine's own ``pm config set-user`` file (child processes inherit this)."""
    monkeypatch.setenv("PM_USER_FILE", str(Path(tmp_path_factory.mktemp("pm-user")) / "user.json"))
