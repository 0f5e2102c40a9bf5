"""List answers convert in slices that hand the loop back; a malformed entity is skipped either way."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from projectmanagement_core import converters
from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.proto import messages_pb2 as pb
from projectmanagement_services.slicing import TimeSlicer
from projectmanagement_services.websocket import WebSocketClient, entity_lists
from projectmanagement_services.websocket.entity_lists import convert_entities_sliced
from tests.services.websocket.fakes import FakeFactory, envelope, make_work_item, options


class Pauses:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> None:
        self.count += 1
        await asyncio.sleep(0)


def wire_items(count: int) -> list[pb.WorkItem]:
    project = uuid4()
    return [converters.work_item_to_proto(make_work_item(project, title=f"item {n}")) for n in range(count)]


async def test_a_long_list_converts_in_order_yielding_between_batches_and_skips_a_malformed_entity() -> None:
    messages = wire_items(10)
    messages[4].id = "not-a-uuid"
    dropped: list[tuple[str, ValidationException]] = []
    pauses = Pauses()

    converted = await convert_entities_sliced(
        messages,
        converters.work_item_from_proto,
        lambda entity_id, error: dropped.append((entity_id, error)),
        TimeSlicer(0, batch=3, pause=pauses),
    )

    assert [i.title for i in converted] == [f"item {n}" for n in range(10) if n != 4]
    assert [entity_id for entity_id, _ in dropped] == ["'not-a-uuid'"]
    assert pauses.count == 4  # after each of the 4 batches


async def test_a_list_of_one_batch_or_less_converts_at_once() -> None:
    pauses = Pauses()
    converted = await convert_entities_sliced(
        wire_items(3), converters.work_item_from_proto, lambda *_: None, TimeSlicer(0, batch=3, pause=pauses)
    )
    assert len(converted) == 3
    assert pauses.count == 0


async def test_get_work_items_converts_a_long_answer_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses = Pauses()
    monkeypatch.setattr(entity_lists, "TimeSlicer", lambda: TimeSlicer(0, batch=16, pause=pauses))
    factory = FakeFactory()
    client = WebSocketClient(options(), connection_factory=factory)
    await client.connect()
    try:
        messages = wire_items(100)
        task = asyncio.create_task(client.get_work_items(uuid4()))
        request = await factory.current.next_request()
        answer = pb.WorkItemsList(work_items=messages, as_of_timestamp=1)
        factory.current.reply(envelope(request.message_id, work_items_list=answer))
        async with asyncio.timeout(10):
            items = await task
    finally:
        await client.aclose()
    assert [converters.work_item_to_proto(i) for i in items] == messages
    assert pauses.count == 7  # 100 items in batches of 16
