"""pm-ws services: WebSocket client, resilience, state stores, settings, DI container, telemetry.

What an application builds with is re-exported here: the container and settings, the resilient
client and its components' options, the stores, and the reference server for tests
(``from projectmanagement_services import create_container, AppSettings, PmTestServer``).
"""

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
