"""A raw ``websockets`` server on 127.0.0.1 that answers a few requests exactly as pm-server v0.1.4 does.

It exists so that the client's survival of pm-server's quirks is tested against pm-server's
behaviour, independent of how far the reference server has come: each handler below mirrors the
upstream handler's observable answer (``backend/crates/pm-ws/src/handlers/work_item.rs``,
``change_tracker.rs``, ``sprint.rs``, ``error.rs``), re-written in Python for the few fields the
tests touch. It holds one project with one work item and two sprints, in memory.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from websockets.asyncio.server import ServerConnection, serve

from projectmanagement_core.proto import messages_pb2 as pb

__all__ = ["UpstreamLikeServer", "upstream_like_server"]

USER = "6f0c2a8e-1b7e-4d8c-9a7e-2f4b1c3d5e6f"
_TRACKED_STRINGS = ("title", "description", "status")


def _conflict(current_version: int) -> pb.Error:
    # WsError::ConflictError's Display, as error.rs renders it.
    return pb.Error(
        code="CONFLICT", message=f"Conflict: resource was modified (current version: {current_version})"
    )


class UpstreamLikeServer:
    """State and handlers; ``requests`` counts what arrived, by payload name."""

    def __init__(self) -> None:
        now = int(time.time())
        self.project = pb.Project(
            id=str(uuid.uuid4()), title="Quirks", key="QK", status=pb.PROJECT_STATUS_ACTIVE, version=1,
            created_at=now, updated_at=now, created_by=USER, updated_by=USER, next_work_item_number=2,
        )  # fmt: skip
        self.item = pb.WorkItem(
            id=str(uuid.uuid4()), item_type=pb.TASK, project_id=self.project.id, position=1, title="Item",
            status="backlog", priority="medium", version=1, item_number=1, created_at=now, updated_at=now,
            created_by=USER, updated_by=USER,
        )  # fmt: skip
        self.active_sprint = self._sprint("Running", pb.ACTIVE, now)
        self.planned_sprint = self._sprint("Next", pb.PLANNED, now)
        self.requests: dict[str, int] = {}
        self.url = ""

    def _sprint(self, name: str, status: pb.SprintStatus.ValueType, now: int) -> pb.Sprint:
        return pb.Sprint(
            id=str(uuid.uuid4()), project_id=self.project.id, name=name, start_date=now, end_date=now + 86_400,
            status=status, version=1, created_at=now, updated_at=now, created_by=USER, updated_by=USER,
        )  # fmt: skip

    # -- handlers (the upstream behaviour each one mirrors is named in its docstring) ------------
    def _update_work_item(self, r: pb.UpdateWorkItemRequest, answer: pb.WebSocketMessage) -> None:
        """work_item.rs handle_update: version check, then track_changes; no change -> answer as is."""
        item = self.item
        if r.expected_version != item.version:
            answer.error.CopyFrom(_conflict(item.version))
            return
        changed = [n for n in _TRACKED_STRINGS if r.HasField(n) and getattr(r, n) != getattr(item, n)]
        if r.HasField("assignee_id") and r.assignee_id != (
            item.assignee_id if item.HasField("assignee_id") else ""
        ):
            changed.append("assignee_id")
        if r.HasField("position") and r.position != item.position:
            changed.append("position")
        if r.update_parent and r.parent_id != (item.parent_id if item.HasField("parent_id") else ""):
            changed.append("parent_id")
        if changed:  # apply_updates: every requested field, tracked or not
            for name in ("title", "description", "status", "priority"):
                if r.HasField(name):
                    setattr(
                        item,
                        name,
                        getattr(r, name).strip() if name in ("title", "description") else getattr(r, name),
                    )
            for name in ("assignee_id", "sprint_id"):
                if r.HasField(name):
                    if getattr(r, name):
                        setattr(item, name, getattr(r, name))
                    else:
                        item.ClearField(name)
            if r.HasField("story_points"):
                item.story_points = r.story_points
            if r.HasField("position"):
                item.position = r.position
            item.version += 1
        answer.work_item_updated.work_item.CopyFrom(item)
        answer.work_item_updated.user_id = USER
        answer.work_item_updated.changes.extend(pb.FieldChange(field_name=n) for n in changed)

    def _update_sprint(self, r: pb.UpdateSprintRequest, answer: pb.WebSocketMessage) -> None:
        """sprint.rs handle_update_sprint: a completed sprint or a second active one -> CONFLICT, current version."""
        sprint = next(s for s in (self.active_sprint, self.planned_sprint) if s.id == r.sprint_id)
        if r.expected_version != sprint.version:
            answer.error.CopyFrom(_conflict(sprint.version))
            return
        if sprint.status == pb.COMPLETED:
            answer.error.CopyFrom(_conflict(sprint.version))
            return
        if r.HasField("status") and r.status == pb.ACTIVE and sprint.status != pb.ACTIVE:
            answer.error.CopyFrom(_conflict(sprint.version))  # self.active_sprint is active already
            return
        if r.HasField("name") and r.name != sprint.name:
            sprint.name = r.name.strip()
            sprint.version += 1
        answer.sprint_updated.sprint.CopyFrom(sprint)
        answer.sprint_updated.user_id = USER

    def _get_work_items(self, r: pb.GetWorkItemsRequest, answer: pb.WebSocketMessage) -> None:
        answer.work_items_list.work_items.append(self.item)
        answer.work_items_list.as_of_timestamp = int(time.time())

    def _get_sprints(self, r: pb.GetSprintsRequest, answer: pb.WebSocketMessage) -> None:
        answer.sprints_list.sprints.extend([self.active_sprint, self.planned_sprint])

    def _list_projects(self, r: pb.ListProjectsRequest, answer: pb.WebSocketMessage) -> None:
        answer.project_list.projects.append(self.project)

    async def _serve(self, ws: ServerConnection) -> None:
        handlers = {
            "update_work_item_request": self._update_work_item,
            "update_sprint_request": self._update_sprint,
            "get_work_items_request": self._get_work_items,
            "get_sprints_request": self._get_sprints,
            "list_projects_request": self._list_projects,
        }
        async for frame in ws:
            request = pb.WebSocketMessage.FromString(frame if isinstance(frame, bytes) else frame.encode())
            kind = request.WhichOneof("payload") or ""
            self.requests[kind] = self.requests.get(kind, 0) + 1
            answer = pb.WebSocketMessage(message_id=request.message_id, timestamp=int(time.time()))
            if kind == "ping":
                answer.pong.timestamp = request.ping.timestamp
            elif kind in handlers:
                handlers[kind](getattr(request, kind), answer)
            else:
                answer.error.CopyFrom(
                    pb.Error(
                        code="INVALID_MESSAGE",
                        message="Invalid message: Unsupported or missing message payload",
                    )
                )
            await ws.send(answer.SerializeToString())


@asynccontextmanager
async def upstream_like_server() -> AsyncIterator[UpstreamLikeServer]:
    """Serve on 127.0.0.1, a port the OS picks; ``server.url`` is the ``ws://`` address."""
    state = UpstreamLikeServer()
    async with serve(state._serve, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        state.url = f"ws://127.0.0.1:{port}/ws"
        yield state
