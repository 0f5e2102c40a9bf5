"""The demo's client graph: the user's settings with the demo's layer on top, built by the container."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import InitVar, dataclass, field
from datetime import timedelta
from typing import Any, Final
from uuid import UUID

from projectmanagement_services.clock import SleepFunction
from projectmanagement_services.container import PmContainer, create_container
from projectmanagement_services.demo.faults import DEMO_RATE_LIMIT_BURST, DEMO_RATE_LIMIT_PERIOD_S
from projectmanagement_services.resilience.circuit_breaker import (
    CircuitBreaker,
    CircuitState,
    CircuitStateChange,
)
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.resilience.reconnection_service import ReconnectionResult, ReconnectionService
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.settings import AppSettings
from projectmanagement_services.state.work_item_store import WorkItemStore
from projectmanagement_services.websocket.client import WebSocketClient

#: The demo's layer over the user's settings (``ProjectManagement`` keys): timings sized for a fault
#: every second or so. appsettings.json's defaults (30 s open breaker, 1 s first reconnect delay)
#: suit production; here they would show waiting, not recovery. Everything not named here (Telemetry,
#: message limits, jitter, ...) stays as the user configured it.
_DEMO_TIMINGS: Final[Mapping[str, Mapping[str, object]]] = {
    "WebSocket": {
        "RequestTimeout": timedelta(seconds=1),
        "HeartbeatInterval": timedelta(seconds=2),
        "HeartbeatTimeout": timedelta(seconds=5),
        "ConnectTimeout": timedelta(seconds=2),
    },
    "CircuitBreaker": {
        "FailureThreshold": 5,
        "FailureWindow": timedelta(seconds=10),
        "OpenDuration": timedelta(milliseconds=500),
        "HalfOpenSuccessThreshold": 1,
    },
    "RetryPolicy": {
        "MaxAttempts": 4,
        "InitialDelay": timedelta(milliseconds=50),
        "MaxDelay": timedelta(milliseconds=500),
    },
    "Reconnection": {
        "MaxAttempts": None,
        "InitialDelay": timedelta(milliseconds=50),
        "MaxDelay": timedelta(seconds=1),
        "StableAfter": timedelta(seconds=2),
    },
    # The embedded server's own limit: a client that knows its server's limit is never refused.
    "RateLimit": {"Burst": DEMO_RATE_LIMIT_BURST, "Period": timedelta(seconds=DEMO_RATE_LIMIT_PERIOD_S)},
}


def demo_settings(
    server_url: str,
    user_id: UUID,
    base: AppSettings | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> AppSettings:
    """``base`` (the user's settings; code defaults when None) with the demo's own layer on top.

    The demo's layer: its embedded server (``ServerUrl``; no ``AuthToken`` or ``CaFile``, as that
    server runs in open mode on plain ws://, so a real token is never sent to it), its ``UserId``, and
    demo-sized timings. ``overrides`` (an ``AppSettings`` document, PascalCase keys) goes last.

    Raises:
        pydantic.ValidationError: an override makes the settings invalid.
    """
    document = (base or AppSettings()).as_appsettings(reveal_secrets=True)
    demo = {
        "ProjectManagement": {
            **_DEMO_TIMINGS,
            "WebSocket": {
                **_DEMO_TIMINGS["WebSocket"],
                "ServerUrl": server_url,
                "UserId": str(user_id),
                "AuthToken": None,
                "CaFile": None,
            },
        }
    }
    for layer in (demo, overrides or {}):
        _merge_into(document, layer)
    return AppSettings.model_validate(document)


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any]) -> None:
    """Per-key deep merge (sections merge, anything else replaces), as settings layers combine."""
    for key, value in layer.items():
        if isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge_into(target[key], value)
        else:
            target[key] = value


@dataclass(eq=False)
class ResilientStack:
    """One client graph from ``create_container(settings)``, with the counters the demo reports.

    The container builds every component (inner client, breaker, retry policy, reconnection service,
    resilient client, stores) and owns their lifecycle; this only observes them. The retry policy
    gets a classifier that counts (the policy asks only while attempts remain, so each True is one
    retry), and ``reconnect_sleep`` replaces the reconnection service's sleep alone (the recovery
    benchmark records the backoff it dictates). Start with ``await stack.start()``.
    """

    container: PmContainer
    reconnect_sleep: InitVar[SleepFunction | None] = None
    retries: int = 0
    breaker_trips: int = 0
    reconnects: int = 0
    inner: WebSocketClient = field(init=False)
    breaker: CircuitBreaker = field(init=False)
    reconnection: ReconnectionService = field(init=False)
    client: ResilientWebSocketClient = field(init=False)
    #: The container's store, attached to the reconnection service's resyncs.
    work_items: WorkItemStore = field(init=False)

    def __post_init__(self, reconnect_sleep: SleepFunction | None) -> None:
        # Provider arguments first: the components are created on first use, just below.
        self.container.retry_policy.add_kwargs(is_retryable=self._counting_is_transient)
        if reconnect_sleep is not None:
            self.container.reconnection.add_kwargs(sleep=reconnect_sleep)
        self.inner = self.container.inner_client()
        self.breaker = self.container.circuit_breaker()
        self.reconnection = self.container.reconnection()
        self.client = self.container.client()
        self.work_items = self.container.work_items()
        self.breaker.on_state_changed.subscribe(self._on_breaker)
        self.reconnection.on_reconnected.subscribe(self._on_reconnected)

    async def start(self) -> None:
        """The container's resources: telemetry pipeline, then connect (reconnection already watching)."""
        await _awaited(self.container.init_resources())

    async def aclose(self) -> None:
        """Close stores, reconnection and client, then flush and stop the telemetry pipeline."""
        await _awaited(self.container.shutdown_resources())

    def _counting_is_transient(self, exc: BaseException) -> bool:
        transient = is_transient(exc)
        if transient:
            self.retries += 1
        return transient

    def _on_breaker(self, change: CircuitStateChange) -> None:
        if change.current is CircuitState.OPEN:
            self.breaker_trips += 1

    def _on_reconnected(self, _result: ReconnectionResult) -> None:
        self.reconnects += 1


def build_resilient_stack(
    settings: AppSettings, *, reconnect_sleep: SleepFunction | None = None
) -> ResilientStack:
    """The client graph of ``settings`` (usually ``demo_settings(...)``) from the DI container, not started."""
    return ResilientStack(create_container(settings), reconnect_sleep)


async def _awaited(result: Awaitable[object] | None) -> None:
    """dependency-injector returns an awaitable only when some resource is async: await it then."""
    if result is not None:
        await result
