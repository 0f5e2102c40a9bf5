"""Lenient conversion of list answers: one malformed entity is skipped, not fatal.

A single entity answer with an impossible value raises ``ValidationException`` (the caller asked
for that entity). A list is different: it is the whole truth of a project and the reconnection
service's resync depends on it, so one bad entry (a sprint with ``end_date = 2**63 - 1`` stored by
another client) would otherwise fail every resync of that project for every client, forever.

A long list (a resync of a 10,000-item project: 100-200 ms with eager models) is converted in
slices that hand the event loop back (``convert_entities_sliced``), so the host application's other
tasks, and the client's own timers, keep running while it converts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Final, TypeVar

from google.protobuf.message import Message

from projectmanagement_core.exceptions import ValidationException
from projectmanagement_services.slicing import TimeSlicer

__all__ = ["convert_entities", "convert_entities_sliced"]

_W = TypeVar("_W", bound=Message)
_T = TypeVar("_T")

#: An id as reported in logs is cut to this many characters (a hostile id may be megabytes).
_ID_REPORT_MAX: Final = 64


def convert_entities(
    messages: Iterable[_W],
    convert: Callable[[_W], _T],
    on_dropped: Callable[[str, ValidationException], object],
) -> list[_T]:
    """``convert`` each message; those that raise ``ValidationException`` go to ``on_dropped``
    (with their wire id, shortened, as the only identification that can be trusted) and are left out."""
    converted: list[_T] = []
    for message in messages:
        try:
            converted.append(convert(message))
        except ValidationException as exc:
            on_dropped(_reported_id(message), exc)
    return converted


async def convert_entities_sliced(
    messages: Sequence[_W],
    convert: Callable[[_W], _T],
    on_dropped: Callable[[str, ValidationException], object],
    slicer: TimeSlicer | None = None,
) -> list[_T]:
    """``convert_entities``, handing the loop back once a slice of work is used up (``TimeSlicer``).

    A list no longer than one batch is converted at once, without the slicer's bookkeeping.
    """
    slicer = slicer or TimeSlicer()
    if len(messages) <= slicer.batch_size:
        return convert_entities(messages, convert, on_dropped)
    converted: list[_T] = []
    for batch in slicer.batches(messages):
        converted.extend(convert_entities(batch, convert, on_dropped))
        await slicer.checkpoint()
    return converted


def _reported_id(message: Message) -> str:
    raw = getattr(message, "id", "")
    text = raw if isinstance(raw, str) else ""
    suffix = "..." if len(text) > _ID_REPORT_MAX else ""
    return repr(text[:_ID_REPORT_MAX]) + suffix
