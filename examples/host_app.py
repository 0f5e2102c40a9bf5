"""A host application that embeds the pm-ws client through its own dependency-injector container.

The host owns the composition root and decides where settings come from; ``PmContainer`` is one
sub-container in it. Host code asks for the client (or a store) with ``@inject``/``Provide`` and
never builds one itself. ``tests/services/container/test_readme_example.py`` runs this file
against the reference server, so the README's copy of it is known to work.

As a script (``pm serve`` in another shell first)::

    python examples/host_app.py [--server-url ws://127.0.0.1:8000/ws] [--user-id UUID]

Each run creates a project with a fresh key, so it can run any number of times.
"""

from __future__ import annotations

import argparse
import asyncio
from uuid import UUID, uuid4

from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject

from projectmanagement_core.interfaces import IWebSocketClient
from projectmanagement_core.models import CreateProjectRequest, CreateWorkItemRequest, WorkItem, WorkItemType
from projectmanagement_services import AppSettings, PmContainer, running
from projectmanagement_services.state import WorkItemStore

__all__ = ["HostContainer", "TaskBoard", "fresh_key", "main", "open_project"]


class TaskBoard:
    """One of the host's own services: it only needs the work-item store."""

    def __init__(self, work_items: WorkItemStore) -> None:
        self._work_items = work_items

    async def add_task(self, project_id: UUID, title: str) -> WorkItem:
        request = CreateWorkItemRequest(project_id=project_id, item_type=WorkItemType.TASK, title=title)
        return await self._work_items.create(request)

    def tasks(self, project_id: UUID) -> list[str]:
        return [item.title for item in self._work_items.get_by_project(project_id)]


class HostContainer(containers.DeclarativeContainer):
    """The host's composition root, with the pm-ws client graph as the ``pm`` sub-container."""

    config = providers.Configuration()

    # Where the client's settings come from is the host's call: its file, env vars, overrides.
    pm_settings = providers.Singleton(AppSettings.load, config.appsettings, overrides=config.pm)
    pm = providers.Container(PmContainer, settings=pm_settings)

    task_board = providers.Singleton(TaskBoard, work_items=pm.work_items)


@inject
async def open_project(
    key: str,
    client: IWebSocketClient = Provide[HostContainer.pm.client],
    work_items: WorkItemStore = Provide[HostContainer.pm.work_items],
) -> UUID:
    """Create a project, follow its broadcasts (re-subscribed after every reconnect), load it."""
    project = await client.create_project(CreateProjectRequest(key=key, title=f"Project {key}"))
    await client.subscribe([project.id])
    await work_items.load_project(project.id)
    return project.id


@inject
async def plan(project_id: UUID, board: TaskBoard = Provide[HostContainer.task_board]) -> list[str]:
    await board.add_task(project_id, "Write the README")
    await board.add_task(project_id, "Ship it")
    return board.tasks(project_id)


def fresh_key() -> str:
    """A project key no earlier run used (keys are unique on the server): ``H`` and 8 hex digits."""
    return "H" + uuid4().hex[:8].upper()


async def main(server_url: str, user_id: UUID, key: str | None = None) -> list[str]:
    host = HostContainer()
    host.config.from_dict(
        {"pm": {"ProjectManagement": {"WebSocket": {"ServerUrl": server_url, "UserId": str(user_id)}}}}
    )
    host.wire(modules=[__name__])
    try:
        async with running(host):  # connects on entry; closes client, stores, telemetry on exit
            project_id = await open_project(key or fresh_key())
            return await plan(project_id)
    finally:
        host.unwire()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the host application against a pm-ws server.")
    parser.add_argument(
        "--server-url", default="ws://127.0.0.1:8000/ws", help="the server (pm serve's default)"
    )
    parser.add_argument("--user-id", type=UUID, default=None, help="open-mode identity (default: a new one)")
    arguments = parser.parse_args()
    for title in asyncio.run(main(arguments.server_url, arguments.user_id or uuid4())):
        print(title)
