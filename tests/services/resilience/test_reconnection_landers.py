"""ReconnectionService landers: each resynced snapshot is awaited through them before on_resynced."""

from __future__ import annotations

import asyncio
import logging
from uuid import uuid4

import pytest

from projectmanagement_core.exceptions import ResponseTooLargeException
from projectmanagement_core.models import ConnectionState, ProjectSnapshot
from projectmanagement_services.state import WorkItemStore

from .fake_client import make_work_item
from .fake_time import FakeTime
from .test_reconnection_service import Recorder, connected_client, finish, make_service


async def test_landers_are_awaited_per_snapshot_before_it_is_announced() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    events = Recorder(service)
    p1, p2 = uuid4(), uuid4()
    service.track_subscription([p1, p2])
    log: list[str] = []

    async def lander(name: str, snapshot: ProjectSnapshot) -> None:
        log.append(f"{name} starts {'p1' if snapshot.project_id == p1 else 'p2'}")
        await asyncio.sleep(0)  # a lander that hands the loop back, as a store landing in slices
        log.append(f"{name} ends")

    async def first(snapshot: ProjectSnapshot) -> None:
        await lander("first", snapshot)

    async def second(snapshot: ProjectSnapshot) -> None:
        await lander("second", snapshot)

    service.add_lander(first)
    service.add_lander(second)
    service.on_resynced.subscribe(lambda s: log.append("resynced"))
    service.on_reconnected.subscribe(lambda r: log.append("reconnected"))

    client.drop()
    await finish(service)

    half = ["first starts {}", "first ends", "second starts {}", "second ends", "resynced"]
    assert log == [line.format("p1") for line in half] + [line.format("p2") for line in half] + [
        "reconnected"
    ]
    assert events.reconnected[0].resynced_projects == (p1, p2)


async def test_a_failing_lander_is_logged_and_neither_stops_the_others_nor_the_reconnect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    events = Recorder(service)
    service.track_subscription([uuid4()])
    landed: list[ProjectSnapshot] = []

    async def broken(snapshot: ProjectSnapshot) -> None:
        raise RuntimeError("a bug in a lander")

    async def fine(snapshot: ProjectSnapshot) -> None:
        landed.append(snapshot)

    service.add_lander(broken)
    service.add_lander(fine)
    client.drop()
    with caplog.at_level(logging.ERROR):
        await finish(service)

    assert landed == events.resynced
    assert events.reconnected[0].attempts == 1
    assert "a bug in a lander" in caplog.text


async def test_a_removed_lander_is_not_awaited_any_more() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    service.track_subscription([uuid4()])
    calls: list[ProjectSnapshot] = []

    async def lander(snapshot: ProjectSnapshot) -> None:
        calls.append(snapshot)

    service.add_lander(lander)
    service.remove_lander(lander)
    service.remove_lander(lander)  # not added: ignored
    client.drop()
    await finish(service)

    assert calls == []


async def test_a_drop_while_the_stores_land_makes_the_attempt_fail_and_the_loop_go_on() -> None:
    client = await connected_client()
    time = FakeTime()
    service = make_service(client, time)
    events = Recorder(service)
    service.track_subscription([uuid4()])
    landings = 0

    async def lander(snapshot: ProjectSnapshot) -> None:
        nonlocal landings
        landings += 1
        if landings == 1:
            client.drop()  # the read loop saw the connection go while the store was landing

    service.add_lander(lander)
    client.drop()
    await finish(service)

    assert landings == 2
    assert [c.name for c in client.calls].count("connect") == 2
    assert events.reconnected[0].attempts == 2
    assert time.sleeps == pytest.approx([1.125, 2.25])


async def test_a_store_lands_resyncs_through_the_service_until_it_is_closed() -> None:
    client = await connected_client()
    service = make_service(client, FakeTime())
    project = uuid4()
    service.track_subscription([project])
    store = WorkItemStore(client)  # type: ignore[arg-type]
    store.attach_resync(service)
    client.work_items[project] = [make_work_item(project, title="a")]

    client.drop()
    await finish(service)
    assert [i.title for i in store.get_by_project(project)] == ["a"]

    store.close()
    client.work_items[project] = [make_work_item(project, title="b")]
    client.drop()
    await finish(service)
    assert [i.title for i in store.get_by_project(project)] == ["a"]


async def test_a_list_too_large_for_max_message_size_skips_that_project_and_keeps_the_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await connected_client()
    service = make_service(client, FakeTime(), max_attempts=2)
    events = Recorder(service)
    big, small = uuid4(), uuid4()
    service.track_subscription([big, small])
    client.script("get_work_items", ResponseTooLargeException("GetWorkItems", 2_758_689, 1_048_576))

    client.drop()
    with caplog.at_level(logging.ERROR):
        await finish(service)

    assert events.reconnected[0].attempts == 1  # not retried: the same list would be as large
    assert events.reconnected[0].resynced_projects == (small,)
    assert events.failed == []
    assert client.state is ConnectionState.CONNECTED
    assert "MaxMessageSize" in caplog.text
