"""Keep the developer's or CI machine's configuration out of tests that load settings.

``AppSettings.load`` (and so ``create_container``) reads ``os.environ`` and ``./appsettings.json``
unless told otherwise. A test that relies on those defaults would see whatever the machine running
it has: a ``ProjectManagement__...`` variable or ``PM_ENVIRONMENT`` exported in a CI job or a shell,
or the working directory pytest happened to be started from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from projectmanagement_services.settings import ENVIRONMENT_VARIABLE

__all__ = ["SETTINGS_VARIABLE_PREFIXES", "isolate_settings_sources"]

#: Environment variables ``AppSettings.load`` reads: its sections' ``__`` keys (case-insensitive).
SETTINGS_VARIABLE_PREFIXES = ("projectmanagement__", "logging__")


def isolate_settings_sources(monkeypatch: pytest.MonkeyPatch, working_directory: Path | None = None) -> None:
    """Remove every settings variable from ``os.environ`` (restored after the test by ``monkeypatch``).

    With ``working_directory``, also run the test there, so that no ``appsettings.json`` of the
    directory pytest was started from is layered in.
    """
    for name in list(os.environ):
        if name.lower().startswith(SETTINGS_VARIABLE_PREFIXES) or name == ENVIRONMENT_VARIABLE:
            monkeypatch.delenv(name)
    if working_directory is not None:
        monkeypatch.chdir(working_directory)
