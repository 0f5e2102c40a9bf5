"""The README's "Embedding in a host container" example (examples/host_app.py), run for real."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from examples import host_app
from projectmanagement_services.testing import PmTestServer


async def test_host_app_example_runs_against_the_reference_server() -> None:
    user = uuid4()
    async with PmTestServer() as server:
        async with asyncio.timeout(10):
            titles = await host_app.main(server.url, user)

        assert titles == ["Write the README", "Ship it"]
        (project,) = server.projects()
        assert project.key == "DEMO"
        assert project.created_by == str(user)
        assert sorted(i.title for i in server.work_items(UUID(project.id))) == [
            "Ship it",
            "Write the README",
        ]
        assert server.counters.requests_by_type["subscribe"] == 1
        async with asyncio.timeout(5):
            await server.wait_for_connection_count(0)  # the example closed its connection

    assert asyncio.all_tasks() == {asyncio.current_task()}
