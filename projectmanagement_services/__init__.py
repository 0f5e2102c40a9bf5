"""pm-ws services: WebSocket client, resilience, state stores, settings, DI container, telemetry."""

from projectmanagement_services.clock import Clock, SystemClock
from projectmanagement_services.events import Event

__version__ = "0.1.0"

# Imported after __version__: these modules (through telemetry) read it from the package.
from projectmanagement_services.container import (
    PmContainer,
    ProjectManagementContainer,
    create_container,
    running,
)
from projectmanagement_services.settings import AppSettings, SettingsError
from projectmanagement_services.settings_monitor import SettingsMonitor, SettingsReload, SettingsSource
from projectmanagement_services.telemetry_setup import TelemetryProviders, configure_telemetry

__all__ = [
    "AppSettings",
    "Clock",
    "Event",
    "PmContainer",
    "ProjectManagementContainer",
    "SettingsError",
    "SettingsMonitor",
    "SettingsReload",
    "SettingsSource",
    "SystemClock",
    "TelemetryProviders",
    "__version__",
    "configure_telemetry",
    "create_container",
    "running",
]
