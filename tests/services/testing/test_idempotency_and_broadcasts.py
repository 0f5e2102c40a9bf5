"""Create idempotency per user and message_id, and broadcasts (ActivityLogCreated, then the event, first).

Replays across users and request kinds are pinned in ``test_hostile_input.py``.
"""

from __future__ import annotations

import pytest

from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import SPRINT_START, Connect, RawClient, make


async def test_replayed_create_returns_the_same_answer_and_is_not_rebroadcast(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    watcher = await connect()
    server.add_member(project.id, watcher.user_id)
    await watcher.subscribe(project.id)
    await alice.subscribe(project.id)
    server.counters.reset()
    request = make("create_work_item_request", project_id=project.id, title="once", item_type=pb.TASK)
    first, first_broadcasts = await alice.request(request)
    replay, replay_broadcasts = await alice.request(request)
    assert replay.SerializeToString() == first.SerializeToString()
    assert len(first_broadcasts) == 2
    assert replay_broadcasts == []
    assert len(server.work_items(project.id)) == 1
    assert (server.counters.creates_applied, server.counters.replays_served) == (1, 1)
    assert server.counters.requests_by_message_id[request.message_id] == 2
    # The watcher saw exactly one pair of broadcasts: the next thing it receives is its own pong.
    seen = [await watcher.recv_message(), await watcher.recv_message()]
    assert [m.WhichOneof("payload") for m in seen] == ["activity_log_created", "work_item_created"]
    pong, before = await watcher.request(make("ping", timestamp=1))
    assert (pong.WhichOneof("payload"), before) == ("pong", [])


async def test_failed_create_is_not_stored_so_a_retry_can_succeed(
    alice: RawClient, project: pb.Project
) -> None:
    bad = make("create_work_item_request", project_id=project.id, title="", item_type=pb.TASK)
    assert (await alice.request(bad))[0].error.code == "INVALID_MESSAGE"
    fixed = make(
        "create_work_item_request", bad.message_id, project_id=project.id, title="ok", item_type=pb.TASK
    )
    answer, _ = await alice.request(fixed)
    assert answer.work_item_created.work_item.title == "ok"


@pytest.mark.parametrize(
    ("setup", "event"),
    [
        ("create_item", "work_item_created"),
        ("update_item", "work_item_updated"),
        ("delete_item", "work_item_deleted"),
        ("create_sprint", "sprint_created"),
        ("update_sprint", "sprint_updated"),
        ("delete_sprint", "sprint_deleted"),
    ],
)
async def test_mutations_broadcast_activity_then_event_before_the_answer(
    alice: RawClient, project: pb.Project, setup: str, event: str
) -> None:
    item = await alice.create_item(project.id)
    sprint = await alice.create_sprint(project.id)
    await alice.subscribe(project.id)
    requests = {
        "create_item": make("create_work_item_request", project_id=project.id, title="b", item_type=pb.TASK),
        "update_item": make("update_work_item_request", work_item_id=item.id, expected_version=1, title="b2"),
        "delete_item": make("delete_work_item_request", work_item_id=item.id),
        "create_sprint": make(
            "create_sprint_request",
            project_id=project.id,
            name="S2",
            start_date=SPRINT_START,
            end_date=SPRINT_START + 1,
        ),
        "update_sprint": make("update_sprint_request", sprint_id=sprint.id, expected_version=1, name="S1b"),
        "delete_sprint": make("delete_sprint_request", sprint_id=sprint.id),
    }
    request = requests[setup]
    answer, before = await alice.request(request)
    assert [m.WhichOneof("payload") for m in before] == ["activity_log_created", event]
    assert answer.WhichOneof("payload") == event
    activity, broadcast = before
    assert activity.activity_log_created.entry.user_id == alice.user_id
    assert (
        len({request.message_id, activity.message_id, broadcast.message_id}) == 3
    )  # broadcasts get fresh ids
    assert getattr(broadcast, event) == getattr(answer, event)


async def test_project_requests_are_never_broadcast(alice: RawClient, connect: Connect) -> None:
    project = await alice.create_project()
    await alice.subscribe(project.id)
    requests = [
        make("update_project_request", project_id=project.id, expected_version=1, title="P2"),
        make("delete_project_request", project_id=project.id, expected_version=2),
    ]
    for request in requests:
        answer, before = await alice.request(request)
        assert answer.WhichOneof("payload") in ("project_updated", "project_deleted")
        assert before == []


async def test_broadcasts_reach_every_subscriber_member_or_not(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    member = await connect()
    server.add_member(project.id, member.user_id)
    stranger = await connect()
    unsubscribed = await connect()
    server.add_member(project.id, unsubscribed.user_id)
    for client in (member, stranger, unsubscribed):
        await client.subscribe(project.id)
    await unsubscribed.call("unsubscribe", project_ids=[project.id])
    item = await alice.create_item(project.id)
    # As pm-server: nobody checks membership when subscribing, so the stranger hears it too.
    for client in (member, stranger):
        seen = [await client.recv_message(), await client.recv_message()]
        assert seen[1].work_item_created.work_item.id == item.id
    _, before = await unsubscribed.request(make("ping", timestamp=1))
    assert before == []
