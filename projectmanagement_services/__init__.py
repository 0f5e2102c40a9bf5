"""pm-ws services: WebSocket client, resilience, state stores, settings, DI container, telemetry."""

from projectmanagement_services.clock import Clock, SystemClock
from projectmanagement_services.events import Event

__version__ = "0.1.0"

__all__ = ["Clock", "Event", "SystemClock", "__version__"]
