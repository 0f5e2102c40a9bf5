"""pm-ws services: WebSocket client, resilience, state stores, settings, DI container, telemetry.

What an application builds with is re-exported here: the container and settings, the resilient
client and its components' options, the stores, and the reference server for tests
(``from projectmanagement_services import create_container, AppSettings, PmTestServer``).

The re-exports are lazy (PEP 562 ``__getattr__``): ``import projectmanagement_services`` loads
none of them, so a program (or ``pm --help``) pays for pydantic-settings, dependency-injector, the
OTel SDK or the reference server only when it uses them; ``__version__`` too (it reads the installed
metadata). Each name is imported from its module on
first access and then cached in the package namespace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services._version import __version__
    from projectmanagement_services.clock import Clock, SystemClock
    from projectmanagement_services.container import (
        PmContainer,
        ProjectManagementContainer,
        create_container,
        running,
    )
    from projectmanagement_services.events import Event
    from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker, CircuitState
    from projectmanagement_services.resilience.options import (
        CircuitBreakerOptions,
        RateLimitOptions,
        ReconnectionOptions,
        RetryPolicyOptions,
    )
    from projectmanagement_services.resilience.reconnection_service import ReconnectionService
    from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
    from projectmanagement_services.resilience.retry_policy import RetryPolicy
    from projectmanagement_services.settings import AppSettings, SettingsError, SettingsWarning
    from projectmanagement_services.settings_monitor import SettingsMonitor, SettingsReload, SettingsSource
    from projectmanagement_services.state import SprintStore, WorkItemStore
    from projectmanagement_services.telemetry_setup import TelemetryProviders, configure_telemetry
    from projectmanagement_services.testing import PmTestServer
    from projectmanagement_services.websocket import WebSocketClient, WebSocketOptions

#: Exported name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "AppSettings": "projectmanagement_services.settings",
    "CircuitBreaker": "projectmanagement_services.resilience.circuit_breaker",
    "CircuitBreakerOptions": "projectmanagement_services.resilience.options",
    "CircuitState": "projectmanagement_services.resilience.circuit_breaker",
    "Clock": "projectmanagement_services.clock",
    "Event": "projectmanagement_services.events",
    "PmContainer": "projectmanagement_services.container",
    "PmTestServer": "projectmanagement_services.testing",
    "ProjectManagementContainer": "projectmanagement_services.container",
    "RateLimitOptions": "projectmanagement_services.resilience.options",
    "ReconnectionOptions": "projectmanagement_services.resilience.options",
    "ReconnectionService": "projectmanagement_services.resilience.reconnection_service",
    "ResilientWebSocketClient": "projectmanagement_services.resilience.resilient_client",
    "RetryPolicy": "projectmanagement_services.resilience.retry_policy",
    "RetryPolicyOptions": "projectmanagement_services.resilience.options",
    "SettingsError": "projectmanagement_services.settings",
    "SettingsMonitor": "projectmanagement_services.settings_monitor",
    "SettingsReload": "projectmanagement_services.settings_monitor",
    "SettingsSource": "projectmanagement_services.settings_monitor",
    "SettingsWarning": "projectmanagement_services.settings",
    "SprintStore": "projectmanagement_services.state",
    "SystemClock": "projectmanagement_services.clock",
    "TelemetryProviders": "projectmanagement_services.telemetry_setup",
    "WebSocketClient": "projectmanagement_services.websocket",
    "WebSocketOptions": "projectmanagement_services.websocket",
    "WorkItemStore": "projectmanagement_services.state",
    "__version__": "projectmanagement_services._version",
    "configure_telemetry": "projectmanagement_services.telemetry_setup",
    "create_container": "projectmanagement_services.container",
    "running": "projectmanagement_services.container",
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)

__all__ = [
    "AppSettings",
    "CircuitBreaker",
    "CircuitBreakerOptions",
    "CircuitState",
    "Clock",
    "Event",
    "PmContainer",
    "PmTestServer",
    "ProjectManagementContainer",
    "RateLimitOptions",
    "ReconnectionOptions",
    "ReconnectionService",
    "ResilientWebSocketClient",
    "RetryPolicy",
    "RetryPolicyOptions",
    "SettingsError",
    "SettingsMonitor",
    "SettingsReload",
    "SettingsSource",
    "SettingsWarning",
    "SprintStore",
    "SystemClock",
    "TelemetryProviders",
    "WebSocketClient",
    "WebSocketOptions",
    "WorkItemStore",
    "__version__",
    "configure_telemetry",
    "create_container",
    "running",
]
