"""PmContainer as a sub-container of a host application's container."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject

from projectmanagement_core.models import ConnectionState, CreateProjectRequest, Project
from projectmanagement_services import AppSettings, PmContainer, running
from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
from projectmanagement_services.testing import PmTestServer
from tests.services.container.support import TIMEOUT, client_tasks, settings_for
from tests.services.resilience.fake_time import FakeTime


class Reporter:
    """A host service that depends on the embedded client."""

    def __init__(self, client: ResilientWebSocketClient) -> None:
        self.client = client

    async def project_keys(self) -> list[str]:
        return [project.key for project in await self.client.list_projects()]


class HostContainer(containers.DeclarativeContainer):
    pm_settings = providers.Dependency(instance_of=AppSettings)
    clock = providers.Object(time.monotonic)  # the host's clock, handed down to the client
    pm = providers.Container(PmContainer, settings=pm_settings, clock=clock)
    reporter = providers.Singleton(Reporter, client=pm.client)


@inject
async def create_project(
    key: str, client: ResilientWebSocketClient = Provide[HostContainer.pm.client]
) -> Project:
    return await client.create_project(CreateProjectRequest(key=key, title=key))


@pytest.fixture
async def server() -> AsyncIterator[PmTestServer]:
    async with PmTestServer() as running_server:
        yield running_server


async def test_host_starts_and_stops_the_embedded_client_with_its_own_resources(server: PmTestServer) -> None:
    host = HostContainer(pm_settings=settings_for(server))
    reporter = host.reporter()
    assert reporter.client is host.pm.client()  # the host's service gets the embedded singleton

    async with asyncio.timeout(TIMEOUT), running(host):
        assert reporter.client.state is ConnectionState.CONNECTED
        await reporter.client.create_project(CreateProjectRequest(key="HOST", title="host"))
        assert await reporter.project_keys() == ["HOST"]

    assert reporter.client.state is ConnectionState.CLOSED
    assert client_tasks() == set()


async def test_host_settings_and_clock_reach_the_embedded_components(server: PmTestServer) -> None:
    settings = settings_for(server, CircuitBreaker={"FailureThreshold": 42})
    host = HostContainer(pm_settings=settings)
    host.clock.override(providers.Object(FakeTime(start=77.0).clock))

    assert host.pm.settings() is settings
    assert host.pm.circuit_breaker().options.failure_threshold == 42
    async with asyncio.timeout(TIMEOUT), running(host):
        await host.pm.client().list_projects()
        # The health tracker stamped the request with the host's clock, not time.monotonic.
        assert host.pm.health().last_message_sent == 77.0


async def test_wired_host_function_uses_the_embedded_client(server: PmTestServer) -> None:
    host = HostContainer(pm_settings=settings_for(server))
    host.wire(modules=[__name__])
    try:
        async with asyncio.timeout(TIMEOUT), running(host):
            project = await create_project("WIRED")
        assert [p.key for p in server.projects()] == ["WIRED"]
        assert project.key == "WIRED"
    finally:
        host.unwire()


def test_two_hosts_do_not_share_clients() -> None:
    settings = AppSettings.load(env={})
    first, second = HostContainer(pm_settings=settings), HostContainer(pm_settings=settings)
    assert first.pm.client() is not second.pm.client()
    assert first.reporter().client is first.pm.client()
