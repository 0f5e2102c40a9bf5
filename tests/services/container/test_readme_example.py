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
        assert project.key.startswith("H")
        assert project.created_by == str(user)
        assert sorted(i.title for i in server.work_items(UUID(project.id))) == [
            "Ship it",
            "Write the README",
        ]
        assert server.counters.requests_by_type["subscribe"] == 1
        async with asyncio.timeout(5):
            await server.wait_for_connection_count(0)  # the example closed its connection

    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_host_app_runs_as_a_script_twice_against_the_same_server() -> None:
    import sys
    from pathlib import Path

    script = Path(host_app.__file__)
    async with PmTestServer() as server:
        for _ in range(2):
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(script), "--server-url", server.url,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            async with asyncio.timeout(60):
                out, err = await process.communicate()
            assert process.returncode == 0, err.decode()
            assert out.decode().splitlines() == ["Write the README", "Ship it"]
        assert len({p.key for p in server.projects()}) == 2  # a fresh key each run


async def test_the_readme_container_snippet_works_and_a_refused_connection_names_the_url(tmp_path) -> None:
    import json

    import pytest

    from projectmanagement_core.exceptions import ConnectionException
    from projectmanagement_services import create_container, running
    from tests.cli.conftest import free_port

    settings = tmp_path / "appsettings.json"
    async with PmTestServer() as server:
        settings.write_text(json.dumps({"ProjectManagement": {"WebSocket": {"ServerUrl": server.url}}}))
        # As the README writes it, with the settings file pointing at the running server.
        async with running(create_container(config_path=str(settings))) as pm:
            projects = await pm.client().list_projects()
        assert projects == []

    url = f"ws://127.0.0.1:{free_port()}/ws"
    settings.write_text(
        json.dumps(
            {"ProjectManagement": {"WebSocket": {"ServerUrl": url}, "Reconnection": {"MaxAttempts": 1}}}
        )
    )
    with pytest.raises(ConnectionException, match=f"connection refused while connecting to {url}"):
        async with running(create_container(config_path=str(settings))):
            pass
