"""The host's composition root: its own options, and the pm-ws client graph as the ``pm`` sub-container."""

from __future__ import annotations

from dependency_injector import containers, providers

from projectmanagement_services import PmContainer
from projectmanagement_services.settings_monitor import SettingsSource

__all__ = ["HostContainer"]


class HostContainer(containers.DeclarativeContainer):
    """``config.appsettings``: the settings file; ``config.pm``: overrides of its ProjectManagement
    keys (a nested mapping); ``config.request_deadline``: seconds any one HTTP request may take.

    The client's settings come in as a ``SettingsSource`` (not ready-made ``AppSettings``) so that
    ``Settings:ReloadOnChange`` can load them again when the file changes.
    """

    config = providers.Configuration()

    pm_settings_source = providers.Singleton(SettingsSource, config.appsettings, overrides=config.pm)
    pm = providers.Container(PmContainer, settings_source=pm_settings_source)

    request_deadline = providers.Callable(lambda seconds: float(seconds or 15.0), config.request_deadline)
