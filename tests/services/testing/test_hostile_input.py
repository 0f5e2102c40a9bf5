"""Issue 14: what one peer can send must never be stored as something other clients cannot read.

Every test speaks the raw protocol (a hostile peer does not use our client) and then checks, with this
project's converters, that what the server answers afterwards still converts.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect

from projectmanagement_core import converters
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.testing import PmTestServer
from tests.services.testing.conftest import SPRINT_START, Connect, RawClient, assert_error, make, new_id

INT32_MAX = 2**31 - 1
#: 9999-12-31T23:59:59Z and 0001-01-01T00:00:00Z, the range RFC 3339 (and Python's datetime) can write.
LAST_SECOND = 253_402_300_799
FIRST_SECOND = -62_135_596_800
#: Inside chrono's range (year 100000), so pm-server itself would store it.
YEAR_100000 = 3_093_527_980_800


def _dates(field: str, value: int) -> dict[str, Any]:
    return {field: value}


async def _sprints(client: RawClient, project_id: str) -> list[pb.Sprint]:
    answer = await client.call("get_sprints_request", project_id=project_id)
    assert answer.WhichOneof("payload") == "sprints_list", answer
    sprints = list(answer.sprints_list.sprints)
    for sprint in sprints:
        converters.sprint_from_proto(sprint)  # raises ValidationException on poison
    return sprints


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("end_date", 2**63 - 1, "Invalid end_date timestamp"),
        ("end_date", YEAR_100000, "Invalid end_date timestamp"),
        ("end_date", LAST_SECOND + 1, "Invalid end_date timestamp"),
        ("start_date", FIRST_SECOND - 1, "Invalid start_date"),
        ("start_date", -(2**63), "Invalid start_date"),
    ],
    ids=["int64-max", "year-100000", "year-10000", "year-0", "int64-min"],
)
async def test_sprint_update_to_a_date_no_client_can_read_is_refused_and_not_stored(
    alice: RawClient, project: pb.Project, field: str, value: int, message: str
) -> None:
    sprint = await alice.create_sprint(project.id)
    answer = await alice.call(
        "update_sprint_request", sprint_id=sprint.id, expected_version=sprint.version, **_dates(field, value)
    )
    error = assert_error(answer, "VALIDATION_ERROR", field)
    assert error.message == f"Validation failed: {message}"
    (stored,) = await _sprints(alice, project.id)
    assert (stored.version, getattr(stored, field)) == (sprint.version, getattr(sprint, field))


@pytest.mark.parametrize("value", [LAST_SECOND, FIRST_SECOND], ids=["year-9999", "year-1"])
async def test_sprint_update_to_the_last_readable_dates_is_stored(
    alice: RawClient, project: pb.Project, value: int
) -> None:
    sprint = await alice.create_sprint(project.id)
    field = "end_date" if value > 0 else "start_date"
    answer = await alice.call(
        "update_sprint_request", sprint_id=sprint.id, expected_version=sprint.version, **_dates(field, value)
    )
    assert answer.WhichOneof("payload") == "sprint_updated", answer
    (stored,) = await _sprints(alice, project.id)
    assert getattr(stored, field) == value


async def test_create_after_the_largest_position_is_refused_and_the_server_stays_healthy(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    """pm-server computes ``(max + 1) as i32`` and would store -2**31; we refuse instead (**ref**)."""
    epic = await alice.create_item(project.id, item_type=pb.EPIC)
    item = await alice.create_item(project.id)
    moved = await alice.call(
        "update_work_item_request", work_item_id=item.id, expected_version=item.version, position=INT32_MAX
    )
    assert moved.work_item_updated.work_item.position == INT32_MAX
    for _ in range(2):  # not once: every later create under that parent, and never INTERNAL_ERROR
        answer = await alice.call(
            "create_work_item_request", project_id=project.id, title="t", item_type=pb.TASK
        )
        error = assert_error(answer, "VALIDATION_ERROR", "position")
        assert str(INT32_MAX) in error.message
    # Another parent still has room; the server counted no internal error.
    story = await alice.create_item(project.id, item_type=pb.STORY, parent_id=epic.id)
    assert story.position == 1
    assert server.counters.internal_errors == 0
    listed = await alice.call("get_work_items_request", project_id=project.id)
    items = [converters.work_item_from_proto(w) for w in listed.work_items_list.work_items]
    assert sorted(i.position for i in items) == [1, 1, INT32_MAX]


async def test_a_stranger_reusing_a_message_id_does_not_get_the_private_item(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    mallory = await connect()
    request = make("create_work_item_request", project_id=project.id, title="secret", item_type=pb.TASK)
    first, _ = await alice.request(request)
    assert first.WhichOneof("payload") == "work_item_created"
    stolen, _ = await mallory.request(request)
    assert_error(stolen, "UNAUTHORIZED")  # a new request of hers: she is a member of nothing
    assert "secret" not in str(stolen)
    assert server.counters.replays_served == 0
    replay, _ = await alice.request(request)  # the owner's own re-send still replays
    assert replay.SerializeToString() == first.SerializeToString()
    assert server.counters.replays_served == 1


async def test_a_member_reusing_anothers_message_id_creates_their_own_item(
    server: PmTestServer, connect: Connect, alice: RawClient, project: pb.Project
) -> None:
    bob = await connect()
    server.add_member(project.id, bob.user_id)
    request = make("create_work_item_request", project_id=project.id, title="same", item_type=pb.TASK)
    mine, _ = await alice.request(request)
    theirs, _ = await bob.request(request)
    assert theirs.work_item_created.work_item.created_by == bob.user_id
    assert theirs.work_item_created.work_item.id != mine.work_item_created.work_item.id
    again, _ = await bob.request(request)  # and bob's re-send replays bob's answer
    assert again.SerializeToString() == theirs.SerializeToString()


async def test_a_create_sprint_with_a_work_items_message_id_is_not_answered_work_item_created(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    item = make("create_work_item_request", project_id=project.id, title="t", item_type=pb.TASK)
    await alice.request(item)
    sprint = make(
        "create_sprint_request",
        item.message_id,
        project_id=project.id,
        name="S",
        start_date=SPRINT_START,
        end_date=SPRINT_START + 1,
    )
    answer, _ = await alice.request(sprint)
    error = assert_error(answer, "INVALID_MESSAGE")
    assert "already used" in error.message
    assert server.sprints(project.id) == []
    assert server.counters.replays_served == 0


async def test_the_same_kind_with_other_content_under_a_used_message_id_is_refused(
    server: PmTestServer, alice: RawClient, project: pb.Project
) -> None:
    first = make("create_work_item_request", project_id=project.id, title="one", item_type=pb.TASK)
    await alice.request(first)
    other = make(
        "create_work_item_request", first.message_id, project_id=project.id, title="two", item_type=pb.TASK
    )
    answer, _ = await alice.request(other)
    assert_error(answer, "INVALID_MESSAGE")
    assert [w.title for w in server.work_items(project.id)] == ["one"]


async def test_counters_at_the_int32_limit_are_refused_not_wrapped(tmp_path: Path) -> None:
    """Versions and item numbers are int32 on the wire; pm-server's release build would wrap them.

    Reaching 2**31 updates takes too long, so the database is edited by hand, as an old or foreign
    file could be.
    """
    database = tmp_path / "pm.db"
    user = new_id()
    async with PmTestServer(database=database) as server, ws_connect(f"{server.url}?user_id={user}") as ws:
        client = RawClient(ws, user)
        project = await client.create_project()
        item = await client.create_item(project.id)
        sprint = await client.create_sprint(project.id)
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("UPDATE work_items SET version = ?", (INT32_MAX,))
            db.execute("UPDATE sprints SET version = ?", (INT32_MAX,))
            db.execute("UPDATE projects SET version = ?, next_work_item_number = ?", (INT32_MAX, INT32_MAX))
        updates = [
            ("update_work_item_request", {"work_item_id": item.id, "title": "x"}),
            ("update_sprint_request", {"sprint_id": sprint.id, "name": "x"}),
            ("update_project_request", {"project_id": project.id, "title": "x"}),
        ]
        for kind, fields in updates:
            answer = await client.call(kind, expected_version=INT32_MAX, **fields)
            assert "exhausted" in assert_error(answer, "VALIDATION_ERROR", "expected_version").message
        answer = await client.call(
            "create_work_item_request", project_id=project.id, title="t", item_type=pb.TASK
        )
        assert_error(answer, "VALIDATION_ERROR", "item_number")
        assert server.counters.internal_errors == 0
        listed = await client.call("get_work_items_request", project_id=project.id)
        (stored,) = [converters.work_item_from_proto(w) for w in listed.work_items_list.work_items]
        assert (stored.title, stored.version) == ("item", INT32_MAX)
