"""examples/fastapi_host driven through httpx's ASGI transport against the reference server.

The app's lifespan runs for real (``app.router.lifespan_context``: httpx's transport sends no
lifespan events), so the client connects and closes as in production. Every test is bounded by
``asyncio.timeout``; outcomes are awaited, never slept for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from dependency_injector import providers

from examples.fastapi_host import HostContainer, create_app
from projectmanagement_services.resilience import CircuitBreaker
from projectmanagement_services.testing import PmTestServer
from tests.support.settings_environment import isolate_settings_sources

LIMIT = 20.0

FAST = {
    "RetryPolicy": {"MaxAttempts": 3, "InitialDelay": "00:00:00.010", "MaxDelay": "00:00:00.050"},
    "Reconnection": {"MaxAttempts": None, "InitialDelay": "00:00:00.010", "MaxDelay": "00:00:00.050"},
    "CircuitBreaker": {"FailureThreshold": 50, "OpenDuration": "00:00:01"},
}


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_settings_sources(monkeypatch, tmp_path)


def host_for(server: PmTestServer, **sections: dict[str, Any]) -> HostContainer:
    host = HostContainer()
    web_socket = {"ServerUrl": server.url, "UserId": str(uuid4()), "RequestTimeout": "00:00:02"}
    host.config.from_dict({"pm": {"ProjectManagement": {"WebSocket": web_socket, **FAST, **sections}}})
    return host


@asynccontextmanager
async def serving(host: HostContainer) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(host)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as http:
            yield http


async def test_healthz_reports_connection_and_circuit() -> None:
    async with PmTestServer() as server, asyncio.timeout(LIMIT), serving(host_for(server)) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "connection": "Connected",
        "circuit": "Closed",
        "circuit_retry_after_s": None,
        "pending_requests": 0,
    }


async def test_projects_and_items_through_the_injected_client_and_store() -> None:
    async with PmTestServer() as server, asyncio.timeout(LIMIT), serving(host_for(server)) as http:
        created = await http.post("/projects", json={"key": "WEB", "title": "Web"})
        assert created.status_code == 201, created.text
        project = created.json()
        assert (project["key"], project["title"]) == ("WEB", "Web")

        item = await http.post(f"/projects/{project['id']}/items", json={"title": "Write docs"})
        assert item.status_code == 201, item.text
        assert item.json()["type"] == "Task"

        listed = await http.get(f"/projects/{project['id']}/items")
        projects = await http.get("/projects")
    assert [i["title"] for i in listed.json()] == ["Write docs"]
    assert [p["id"] for p in projects.json()] == [project["id"]]
    assert server.counters.creates_applied == 2


async def test_an_invalid_request_is_422_and_nothing_is_sent() -> None:
    async with PmTestServer() as server, asyncio.timeout(LIMIT), serving(host_for(server)) as http:
        project = (await http.post("/projects", json={"key": "VAL", "title": "Validation"})).json()
        response = await http.post(f"/projects/{project['id']}/items", json={"title": "x" * 201})
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "title"
    assert server.counters.requests_by_type["create_work_item_request"] == 0


async def test_an_overridden_isolated_breaker_gives_clean_503s_and_an_unhealthy_healthz() -> None:
    async with PmTestServer() as server:
        host = host_for(server)
        breaker = CircuitBreaker(name="host-test")
        breaker.isolate()
        host.pm.circuit_breaker.override(providers.Object(breaker))
        async with asyncio.timeout(LIMIT), serving(host) as http:
            listed = await http.get("/projects")
            health = await http.get("/healthz")
    assert listed.status_code == 503
    assert listed.json()["error"] == "circuit_open"
    assert int(listed.headers["Retry-After"]) >= 1
    assert health.status_code == 503
    assert (health.json()["connection"], health.json()["circuit"]) == ("Connected", "Open")
    assert server.counters.requests_by_type["list_projects_request"] == 0


async def test_an_overridden_deadline_ends_a_slow_request_with_503_not_a_hang() -> None:
    async with PmTestServer() as server:
        host = host_for(
            server, WebSocket={"ServerUrl": server.url, "UserId": str(uuid4()), "RequestTimeout": "00:01:00"}
        )
        host.request_deadline.override(providers.Object(0.2))
        async with asyncio.timeout(LIMIT), serving(host) as http:
            with server.faults.delay_answers(30):
                response = await http.get("/projects")
    assert response.status_code == 503
    assert response.json()["error"] == "deadline"


async def test_a_server_restart_with_requests_in_flight_gives_correct_answers_or_clean_503s(
    tmp_path: Path,
) -> None:
    async with PmTestServer(database=tmp_path / "pm.db") as server:
        host = host_for(server)
        async with asyncio.timeout(LIMIT), serving(host) as http:
            project = (await http.post("/projects", json={"key": "RST", "title": "Restart"})).json()
            items_url = f"/projects/{project['id']}/items"
            inner = host.pm.inner_client()

            with server.faults.delay_answers(0.2):
                in_flight = [
                    asyncio.create_task(http.post(items_url, json={"title": f"item {n}"})) for n in range(10)
                ]
                in_flight += [asyncio.create_task(http.get(items_url)) for _ in range(5)]
                in_flight += [asyncio.create_task(http.get("/projects")) for _ in range(5)]
                while inner.pending_count < 5:  # requests really are waiting on the server
                    await asyncio.sleep(0.005)
                await server.stop()
                await server.start()
            responses = await asyncio.gather(*in_flight)

            statuses = [r.status_code for r in responses]
            assert set(statuses) <= {200, 201, 503}, [r.text for r in responses]
            for response in responses:
                if response.status_code == 503:
                    assert response.json()["error"] in {"unavailable", "circuit_open"}
                    assert "Retry-After" in response.headers
            acknowledged = {r.json()["id"] for r in responses if r.status_code == 201}
            for listed in responses[-5:]:
                if listed.status_code == 200:
                    assert [p["id"] for p in listed.json()] == [project["id"]]

            while (await http.get("/healthz")).status_code != 200:  # reconnected (bounded by LIMIT)
                await asyncio.sleep(0.01)
            after = await http.get(items_url)
            assert after.status_code == 200
            ids = [item["id"] for item in after.json()]
            assert acknowledged <= set(ids)  # no acknowledged write lost
            assert len(ids) == len(set(ids))  # none duplicated
            assert len(ids) <= 10
