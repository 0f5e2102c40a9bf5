"""The host's HTTP API. Endpoints get the client, the store and the breaker from the container
through ``@inject`` / ``Provide[...]`` (this module is wired in the app's lifespan).

No ``from __future__ import annotations`` here: FastAPI and dependency-injector read the
``Annotated[..., Depends(Provide[...])]`` parameters at import time.
"""

from typing import Annotated, Any
from uuid import UUID

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field

from examples.fastapi_host.containers import HostContainer
from examples.fastapi_host.projects import new_project, project_json
from projectmanagement_core.models import ConnectionState, CreateWorkItemRequest, WorkItem, WorkItemType
from projectmanagement_services.resilience import (
    CircuitBreaker,
    CircuitState,
    ReconnectionService,
    ResilientWebSocketClient,
)
from projectmanagement_services.state import WorkItemStore

__all__ = ["router"]

router = APIRouter()

Client = Annotated[ResilientWebSocketClient, Depends(Provide[HostContainer.pm.client])]
WorkItems = Annotated[WorkItemStore, Depends(Provide[HostContainer.pm.work_items])]
Breaker = Annotated[CircuitBreaker, Depends(Provide[HostContainer.pm.circuit_breaker])]
Reconnection = Annotated[ReconnectionService, Depends(Provide[HostContainer.pm.reconnection])]


class NewProject(BaseModel):
    key: str
    title: str


class NewItem(BaseModel):
    title: str
    type: WorkItemType = Field(default=WorkItemType.TASK)


def item_json(item: WorkItem) -> dict[str, Any]:
    return {"id": str(item.id), "title": item.title, "type": item.item_type.value, "version": item.version}


@router.get("/healthz")
@inject
async def healthz(response: Response, client: Client, breaker: Breaker) -> dict[str, Any]:
    """Connection and circuit state; 503 while the client cannot serve (a load balancer's cue)."""
    connection = client.state
    circuit = breaker.state
    healthy = connection is ConnectionState.CONNECTED and circuit is not CircuitState.OPEN
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    retry_after = breaker.retry_after
    return {
        "status": "ok" if healthy else "unavailable",
        "connection": connection.value,
        "circuit": circuit.value,
        "circuit_retry_after_s": retry_after.total_seconds() if retry_after is not None else None,
        "pending_requests": client.health.pending_requests,
    }


@router.get("/projects")
@inject
async def list_projects(client: Client) -> list[dict[str, Any]]:
    return [project_json(project) for project in await client.list_projects()]


@router.post("/projects", status_code=status.HTTP_201_CREATED)
@inject
async def create_project(body: NewProject, client: Client, work_items: WorkItems) -> dict[str, Any]:
    """Create a project and follow it: subscribed (re-sent after every reconnect) and loaded."""
    project = await client.create_project(new_project(body.key, body.title))
    await client.subscribe([project.id])
    await work_items.load_project(project.id)
    return project_json(project)


@router.get("/projects/{project_id}/items")
@inject
async def list_items(
    project_id: UUID, client: Client, work_items: WorkItems, reconnection: Reconnection
) -> list[dict[str, Any]]:
    """Items from the store, which broadcasts and post-reconnect resyncs keep current."""
    if project_id not in reconnection.tracked_subscriptions.project_ids:
        await client.subscribe([project_id])
        await work_items.load_project(project_id)
    return [item_json(item) for item in work_items.get_by_project(project_id)]


@router.post("/projects/{project_id}/items", status_code=status.HTTP_201_CREATED)
@inject
async def create_item(project_id: UUID, body: NewItem, work_items: WorkItems) -> dict[str, Any]:
    request = CreateWorkItemRequest(project_id=project_id, item_type=body.type, title=body.title)
    return item_json(await work_items.create(request))
