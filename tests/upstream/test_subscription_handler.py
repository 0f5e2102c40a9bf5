"""Ports of pm-server's ``backend/crates/pm-ws/tests/subscription_handler_tests.rs``.

Upstream calls the handlers and reads the connection registry directly; over the wire the same
facts show as which broadcasts a connection receives. A project subscription hears the project's
events; a sprint subscription hears only that sprint's ActivityLogCreated (pm-server routes the
entity events to project subscribers only).

Not ported: ``subscribe_missing_connection_returns_not_found`` (a request always comes from a
registered connection, so the registry miss cannot happen over the wire).
"""

from __future__ import annotations

from projectmanagement_core.proto import messages_pb2 as pb
from tests.services.testing.conftest import Connect, RawClient, make


async def _nothing_pending(client: RawClient) -> bool:
    """True when no broadcast was queued ahead of a ping's answer (the server answers in order)."""
    _, before = await client.request(make("ping", timestamp=1))
    return before == []


async def test_subscribe_adds_project_and_sprint_ids(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """Port of ``subscribe_adds_project_and_sprint_ids``."""
    other = await alice.create_project()
    sprint = await alice.create_sprint(other.id)
    watcher = await connect()
    ack, _ = await watcher.request(
        make("subscribe", "msg-1", project_ids=[project.id], sprint_ids=[sprint.id])
    )
    assert (ack.message_id, ack.WhichOneof("payload")) == ("msg-1", None)

    item = await alice.create_item(project.id)
    heard = [await watcher.recv_message(), await watcher.recv_message()]
    assert [m.WhichOneof("payload") for m in heard] == ["activity_log_created", "work_item_created"]
    assert heard[1].work_item_created.work_item.id == item.id

    await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=1, name="Renamed")
    entry = (await watcher.recv_message()).activity_log_created.entry
    assert (entry.entity_type, entry.entity_id, entry.action) == ("sprint", sprint.id, "updated")
    assert await _nothing_pending(watcher)  # the SprintUpdated event went to project subscribers only


async def test_unsubscribe_removes_project_and_sprint_ids(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """Port of ``unsubscribe_removes_project_and_sprint_ids``."""
    sprint = await alice.create_sprint(project.id)
    watcher = await connect()
    await watcher.call("subscribe", project_ids=[project.id], sprint_ids=[sprint.id])
    ack = await watcher.call("unsubscribe", project_ids=[project.id], sprint_ids=[sprint.id])
    assert ack.WhichOneof("payload") is None
    await alice.create_item(project.id)
    await alice.call("update_sprint_request", sprint_id=sprint.id, expected_version=1, name="Renamed")
    assert await _nothing_pending(watcher)
