"""Ports of pm-server's ``backend/crates/pm-ws/tests/activity_log_broadcast_tests.rs``.

Upstream feeds ``broadcast_activity_log_created`` directly; here a real mutation produces the entry.
"""

from __future__ import annotations

from projectmanagement_core.proto import messages_pb2 as pb
from tests.services.testing.conftest import Connect, RawClient, make


async def test_broadcast_only_reaches_subscribed_clients(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """Port of ``broadcast_only_reaches_subscribed_clients``."""
    subscribed = await connect()
    unsubscribed = await connect()
    await subscribed.subscribe(project.id)
    item = await alice.create_item(project.id)
    received = await subscribed.recv_message()
    assert received.WhichOneof("payload") == "activity_log_created"
    entry = received.activity_log_created.entry
    assert (entry.entity_type, entry.entity_id, entry.action) == ("work_item", item.id, "created")
    _, before = await unsubscribed.request(make("ping", timestamp=1))
    assert before == []


async def test_broadcast_reaches_sprint_subscribers(
    connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    """Port of ``broadcast_reaches_sprint_subscribers``: subscribed to the sprint only, not its project."""
    sprint = await alice.create_sprint(project.id)
    watcher = await connect()
    await watcher.call("subscribe", sprint_ids=[sprint.id])
    await alice.call("delete_sprint_request", sprint_id=sprint.id)
    received = await watcher.recv_message()
    assert received.WhichOneof("payload") == "activity_log_created"
    entry = received.activity_log_created.entry
    assert (entry.entity_type, entry.entity_id, entry.action) == ("sprint", sprint.id, "deleted")
