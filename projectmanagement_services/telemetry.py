"""OpenTelemetry for the pm-ws client: instrument names in one place, and the options to export them.

Only ``opentelemetry-api`` is touched on the hot path; with no SDK configured the API's no-op
providers make every call next to free. (The components' telemetry object and the SDK set-up
from settings are added beside these names.)
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from projectmanagement_services.options_base import OptionsModel

__all__ = [
    "ATTR_CIRCUIT_FROM",
    "ATTR_CIRCUIT_STATE",
    "ATTR_CIRCUIT_TO",
    "ATTR_ERROR_TYPE",
    "ATTR_OUTCOME",
    "ATTR_PM_ATTEMPTS",
    "ATTR_REASON",
    "ATTR_RESUBSCRIBED",
    "ATTR_RESYNCED_ITEMS",
    "ATTR_RPC_METHOD",
    "ATTR_RPC_SYSTEM",
    "ATTR_SERVER_ADDRESS",
    "ATTR_SERVER_PORT",
    "EVENT_CIRCUIT_REJECTED",
    "EVENT_RECONNECT_ATTEMPT",
    "EVENT_RETRY",
    "INSTRUMENTATION_SCOPE",
    "METRIC_CIRCUIT_REJECTIONS",
    "METRIC_CIRCUIT_STATE",
    "METRIC_CIRCUIT_TRANSITIONS",
    "METRIC_CONNECTION_RTT",
    "METRIC_FRAMES_DROPPED",
    "METRIC_OPERATION_DURATION",
    "METRIC_RECONNECTION_ATTEMPTS",
    "METRIC_RETRY_ATTEMPTS",
    "RPC_SYSTEM",
    "SPAN_RECONNECT",
    "TelemetryOptions",
    "span_name",
]

INSTRUMENTATION_SCOPE: Final = "projectmanagement_services"
RPC_SYSTEM: Final = "pm-ws"

# Span names, events and attributes (design.md section 8).
SPAN_RECONNECT: Final = "pm reconnect"
EVENT_RETRY: Final = "pm.retry"
EVENT_CIRCUIT_REJECTED: Final = "pm.circuit.rejected"
EVENT_RECONNECT_ATTEMPT: Final = "pm.reconnect.attempt"
ATTR_RPC_SYSTEM: Final = "rpc.system"
ATTR_RPC_METHOD: Final = "rpc.method"
ATTR_SERVER_ADDRESS: Final = "server.address"
ATTR_SERVER_PORT: Final = "server.port"
ATTR_PM_ATTEMPTS: Final = "pm.attempts"
ATTR_CIRCUIT_STATE: Final = "pm.circuit.state"
ATTR_CIRCUIT_FROM: Final = "pm.circuit.from"
ATTR_CIRCUIT_TO: Final = "pm.circuit.to"
ATTR_ERROR_TYPE: Final = "error.type"
ATTR_OUTCOME: Final = "outcome"
ATTR_REASON: Final = "reason"
ATTR_RESUBSCRIBED: Final = "pm.resubscribed"
ATTR_RESYNCED_ITEMS: Final = "pm.resynced_items"

# Metric instruments (design.md section 8).
METRIC_OPERATION_DURATION: Final = "pm.client.operation.duration"
METRIC_RETRY_ATTEMPTS: Final = "pm.resilience.retry.attempts"
METRIC_CIRCUIT_TRANSITIONS: Final = "pm.resilience.circuit.transitions"
METRIC_CIRCUIT_REJECTIONS: Final = "pm.resilience.circuit.rejections"
METRIC_CIRCUIT_STATE: Final = "pm.resilience.circuit.state"
METRIC_RECONNECTION_ATTEMPTS: Final = "pm.reconnection.attempts"
METRIC_CONNECTION_RTT: Final = "pm.connection.rtt"
METRIC_FRAMES_DROPPED: Final = "pm.client.frames.dropped"


def span_name(operation: str) -> str:
    """Low-cardinality span name: ``pm CreateWorkItem`` (never an id)."""
    return f"pm {operation}"


class TelemetryOptions(OptionsModel):
    """Where telemetry goes (appsettings ``Telemetry``). ``none`` leaves the host's providers alone."""

    service_name: str = Field(default="pm-client", min_length=1)
    exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str = "http://127.0.0.1:4318"
    resource_attributes: dict[str, str] = Field(default_factory=dict)
