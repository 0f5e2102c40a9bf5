"""The dependency-injector container: the composition root that builds the client from ``AppSettings``.

As the .NET plan's ``ServiceCollection`` registrations (design.md section 7). The graph, each arrow
"is built from"::

    settings_source -> settings -> *_options -> telemetry_providers -> telemetry -> rate_limiter, health
             -> inner_client -> circuit_breaker, retry_policy, reconnection -> client
             -> work_items, sprints
             -> lifecycle (connect on start, close everything on stop)
    settings, circuit_breaker, retry_policy, reconnection, inner_client -> settings_monitor
             -> settings_watch (watches the files while running, with Settings:ReloadOnChange)

Components take plain constructor arguments and never import this module; only this module knows
how they fit together. Every provider can be overridden (``container.clock.override(...)``), and a
host application includes the whole graph as a sub-container::

    class HostContainer(containers.DeclarativeContainer):
        settings = providers.Singleton(AppSettings.load, "host-appsettings.json")
        pm = providers.Container(PmContainer, settings=settings)

Start and stop through the resources, or ``async with running(container):``::

    await container.init_resources()      # telemetry pipeline, connect, reconnection watching
    await container.shutdown_resources()  # stores, reconnection, client, telemetry flush + shutdown
"""

from __future__ import annotations

import logging
import operator
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from dependency_injector import containers, providers

from projectmanagement_services.clock import (
    MonotonicClock,
    default_clock,
    default_random,
    default_sleep,
)
from projectmanagement_services.resilience.circuit_breaker import CircuitBreaker
from projectmanagement_services.resilience.rate_limiter import RateLimiter
from projectmanagement_services.resilience.reconnection_service import ReconnectionService
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.resilience.retry_policy import RetryPolicy
from projectmanagement_services.settings import AppSettings, SettingsError
from projectmanagement_services.settings_monitor import SettingsMonitor, SettingsSource
from projectmanagement_services.state.entity_store import EntityStore, ResyncSource
from projectmanagement_services.state.sprint_store import SprintStore
from projectmanagement_services.state.work_item_store import WorkItemStore
from projectmanagement_services.telemetry import PmTelemetry, TelemetryOptions
from projectmanagement_services.telemetry_setup import TelemetryProviders, configure_telemetry
from projectmanagement_services.websocket.client import WebSocketClient
from projectmanagement_services.websocket.connection import ConnectionFactory
from projectmanagement_services.websocket.health import ConnectionHealthTracker
from projectmanagement_services.websocket.options import LIVE_OPTIONS, WebSocketOptions

__all__ = ["PmContainer", "ProjectManagementContainer", "create_container", "running"]

_log = logging.getLogger(__name__)

_Store = TypeVar("_Store", bound=EntityStore[Any])
_Container = TypeVar("_Container", bound=containers.Container)

_CIRCUIT_BREAKER_OPTIONS = operator.attrgetter("project_management.circuit_breaker")
_RETRY_POLICY_OPTIONS = operator.attrgetter("project_management.retry_policy")
_RECONNECTION_OPTIONS = operator.attrgetter("project_management.reconnection")
_WEB_SOCKET_OPTIONS = operator.attrgetter("project_management.web_socket")
_RATE_LIMIT_OPTIONS = operator.attrgetter("project_management.rate_limit")

#: Ports a ws:// or wss:// URL implies when it names none (``server.port`` on spans).
_DEFAULT_PORTS = {"ws": 80, "wss": 443}


def _load_settings(source: SettingsSource | None) -> AppSettings:
    """``AppSettings.load`` as ``settings_source`` says (the container's ``config`` values)."""
    if source is None:
        raise TypeError("no settings_source: override settings or settings_source")
    return source.load()


def _settings_monitor(
    settings: AppSettings,
    source: SettingsSource | None,
    breaker: CircuitBreaker,
    retry: RetryPolicy,
    reconnection: ReconnectionService,
    inner_client: object,
    rate_limiter: RateLimiter,
) -> SettingsMonitor:
    """The monitor with every component that applies options live registered (design.md section 8).

    A section whose component has no ``update_options`` (a test double as ``inner_client``) is
    simply not registered: its changes are then reported as needing a restart.
    """
    monitor = SettingsMonitor(settings, source)
    pm = "ProjectManagement"
    monitor.register(f"{pm}:CircuitBreaker", breaker.update_options, _CIRCUIT_BREAKER_OPTIONS)
    monitor.register(f"{pm}:RetryPolicy", retry.update_options, _RETRY_POLICY_OPTIONS)
    monitor.register(f"{pm}:Reconnection", reconnection.update_options, _RECONNECTION_OPTIONS)
    monitor.register(f"{pm}:RateLimit", rate_limiter.update_options, _RATE_LIMIT_OPTIONS)
    update_client = getattr(inner_client, "update_options", None)
    if callable(update_client):
        monitor.register(f"{pm}:WebSocket", update_client, _WEB_SOCKET_OPTIONS, keys=LIVE_OPTIONS)
    return monitor


async def _settings_watch(monitor: SettingsMonitor, settings: AppSettings) -> AsyncIterator[SettingsMonitor]:
    """With ``Settings:ReloadOnChange``, watch the settings files while the container runs."""
    if settings.project_management.settings.reload_on_change:
        source = monitor.source
        if source is not None and _loads_as(source, settings):
            monitor.start_watching()
        else:
            _log.warning(
                "Settings:ReloadOnChange is on, but these settings were not loaded from the container's "
                "settings_source; not watching (override settings_source instead of settings)"
            )
    try:
        yield monitor
    finally:
        await monitor.aclose()


def _loads_as(source: SettingsSource, settings: AppSettings) -> bool:
    try:
        return source.load() == settings
    except SettingsError:
        return False


def _telemetry_pipeline(options: TelemetryOptions) -> Iterator[TelemetryProviders | None]:
    """The SDK providers of ``Exporter`` as a resource: on shutdown everything recorded is exported.

    Never installed as the OTel globals (``set_global=False``): the container is a library inside
    someone's application, and that application owns the globals.
    """
    exported = configure_telemetry(options, set_global=False)
    try:
        yield exported
    finally:
        if exported is not None:
            if not exported.force_flush():
                _log.warning("telemetry: not everything was exported before shutdown")
            exported.shutdown()


def _pm_telemetry(
    exported: TelemetryProviders | None, web_socket: WebSocketOptions, clock: MonotonicClock
) -> PmTelemetry:
    """What the components report through: the exported providers, else the global OTel API.

    With ``Exporter: none`` the global API is used, so a host application that configured its own
    SDK still sees the client's spans, and one that did not pays next to nothing (no-op API).
    """
    url = urlsplit(web_socket.server_url)
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)
    if exported is None:
        return PmTelemetry(server_address=url.hostname, server_port=port, clock=clock)
    return PmTelemetry(
        exported.tracer_provider,
        exported.meter_provider,
        server_address=url.hostname,
        server_port=port,
        clock=clock,
    )


def _with_resync(store: _Store, source: ResyncSource) -> _Store:
    """A store that applies every snapshot the reconnection service fetches after a reconnect."""
    store.attach_resync(source)
    return store


async def _client_lifecycle(
    client: ResilientWebSocketClient,
    reconnection: ReconnectionService,
    work_items: WorkItemStore,
    sprints: SprintStore,
    exported: TelemetryProviders | None,
) -> AsyncIterator[ResilientWebSocketClient]:
    """Connect on start; on stop close stores, reconnection and client, then flush telemetry.

    The reconnection service and the stores exist before ``connect()`` (they are arguments here),
    so the service is already watching the client's state when the first connection opens.
    ``exported`` is an argument so that the telemetry pipeline shuts down only after this resource
    (dependency-injector orders shutdown by direct dependency).
    """
    try:
        await client.connect()
        yield client
    finally:
        work_items.close()
        sprints.close()
        await reconnection.aclose()
        await client.aclose()
        if exported is not None:
            exported.force_flush()


class PmContainer(containers.DeclarativeContainer):
    """The whole pm-ws client graph, built from ``AppSettings``; singletons as the .NET plan.

    Configuration (all optional), used only by the default ``settings`` provider:
    ``config.config_path`` (the appsettings file), ``config.environment`` (selects
    ``appsettings.{Environment}.json``), ``config.settings_overrides`` (a nested mapping applied
    last; not ``config.overrides``, a name every provider already uses for itself).

    Override ``settings`` to supply ``AppSettings`` directly (a host container passes
    ``settings=`` to ``providers.Container``), or ``settings_source`` (a ``SettingsSource``) to
    say where they are loaded from: only then can ``Settings:ReloadOnChange`` load them again.
    Override ``clock``/``sleep``/``random``, the
    ``connection_factory`` (transport seam), ``inner_client`` or ``telemetry_providers`` in tests.
    """

    config = providers.Configuration()

    # -- settings and options ------------------------------------------------------------------
    settings_source: providers.Provider[SettingsSource | None] = providers.Singleton(
        SettingsSource, config.config_path, config.environment, config.settings_overrides
    )
    settings = providers.Dependency(
        instance_of=AppSettings, default=providers.Singleton(_load_settings, settings_source)
    )
    web_socket_options = providers.Callable(operator.attrgetter("project_management.web_socket"), settings)
    circuit_breaker_options = providers.Callable(
        operator.attrgetter("project_management.circuit_breaker"), settings
    )
    retry_policy_options = providers.Callable(
        operator.attrgetter("project_management.retry_policy"), settings
    )
    reconnection_options = providers.Callable(
        operator.attrgetter("project_management.reconnection"), settings
    )
    telemetry_options = providers.Callable(operator.attrgetter("project_management.telemetry"), settings)
    rate_limit_options = providers.Callable(operator.attrgetter("project_management.rate_limit"), settings)

    # -- time and randomness (design.md section 3) ---------------------------------------------
    clock = providers.Object(default_clock)
    sleep = providers.Object(default_sleep)
    random = providers.Object(default_random)

    # -- telemetry -----------------------------------------------------------------------------
    telemetry_providers = providers.Resource(_telemetry_pipeline, telemetry_options)
    telemetry = providers.Singleton(_pm_telemetry, telemetry_providers, web_socket_options, clock)

    # -- connection ----------------------------------------------------------------------------
    connection_factory: providers.Object[ConnectionFactory | None] = providers.Object(None)
    health = providers.Singleton(ConnectionHealthTracker, clock=clock)
    rate_limiter = providers.Singleton(
        RateLimiter, rate_limit_options, clock=clock, sleep=sleep, telemetry=telemetry
    )
    inner_client = providers.Singleton(
        WebSocketClient,
        web_socket_options,
        health=health,
        clock=clock,
        sleep=sleep,
        connection_factory=connection_factory,
        telemetry=telemetry,
        rate_limiter=rate_limiter,
    )

    # -- resilience ----------------------------------------------------------------------------
    circuit_breaker = providers.Singleton(
        CircuitBreaker, circuit_breaker_options, clock=clock, telemetry=telemetry
    )
    retry_policy = providers.Singleton(
        RetryPolicy, retry_policy_options, sleep=sleep, random=random, telemetry=telemetry
    )
    reconnection = providers.Singleton(
        ReconnectionService,
        inner_client,
        reconnection_options,
        clock=clock,
        sleep=sleep,
        random=random,
        telemetry=telemetry,
        rate_limiter=rate_limiter,
    )
    client = providers.Singleton(
        ResilientWebSocketClient,
        inner_client,
        circuit_breaker,
        retry_policy,
        reconnection=reconnection,
        telemetry=telemetry,
    )

    # -- state ---------------------------------------------------------------------------------
    work_items = providers.Singleton(_with_resync, providers.Factory(WorkItemStore, client), reconnection)
    sprints = providers.Singleton(_with_resync, providers.Factory(SprintStore, client), reconnection)

    # -- live settings (Settings:ReloadOnChange) ------------------------------------------------
    settings_monitor = providers.Singleton(
        _settings_monitor,
        settings,
        settings_source,
        circuit_breaker,
        retry_policy,
        reconnection,
        inner_client,
        rate_limiter,
    )
    settings_watch = providers.Resource(_settings_watch, settings_monitor, settings)

    # -- lifecycle -----------------------------------------------------------------------------
    lifecycle = providers.Resource(
        _client_lifecycle, client, reconnection, work_items, sprints, telemetry_providers
    )


#: The long name, as the .NET ``ProjectManagementServiceCollectionExtensions`` would read.
ProjectManagementContainer = PmContainer


def create_container(
    settings: AppSettings | None = None,
    *,
    config_path: str | Path | None = None,
    environment: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> PmContainer:
    """A new container over ``settings``, or over ``AppSettings.load(config_path, ...)`` when None.

    Settings are loaded (and validated) here, not on first use, so a bad file fails at once with
    every problem listed (``SettingsError``).
    """
    container = PmContainer()
    if settings is not None:
        if config_path is not None or environment is not None or overrides is not None:
            raise TypeError("pass either settings or config_path/environment/overrides, not both")
        container.settings.override(providers.Object(settings))
        container.settings_source.override(providers.Object(None))
    else:
        container.config.from_dict(
            {"config_path": config_path, "environment": environment, "settings_overrides": overrides}
        )
        container.settings()
    return container


@asynccontextmanager
async def running(container: _Container) -> AsyncIterator[_Container]:
    """``init_resources()`` on entry and ``shutdown_resources()`` on exit, also when start fails.

    Works for a ``PmContainer`` and for a host container that includes one (its resources are
    started and stopped with the host's own).

    A failed start (the server refused the connection, say) still releases what had started (the
    telemetry pipeline) before the error propagates.
    """
    try:
        await _completed(container.init_resources())
        yield container
    finally:
        await _completed(container.shutdown_resources())


async def _completed(result: Awaitable[object] | None) -> None:
    """dependency-injector returns an awaitable only when some resource is async: await it then."""
    if result is not None:
        await result
