"""The sans-I/O pm-ws protocol core: request frames out, typed events in.

No asyncio and no sockets here (as python-websockets' ``protocol.py``): ``FrameCodec.encode`` turns
a payload into the bytes of one binary frame, ``FrameCodec.decode`` turns one received frame into
exactly one ``ReceivedEvent``. The whole wire contract is therefore unit-tested bytes-in,
events-out, and the client above only moves bytes and routes events.

Answer or broadcast? The wire does not say. pm-server answers with the request's ``message_id`` and
broadcasts with a fresh one, and the same payload (``WorkItemCreated``) serves as both. So
``decode`` asks the caller whether an id is one of its own requests (``is_awaited``): an entity
event carrying such an id is an ``Answer``, any other entity event is a ``Broadcast``. A subscribed
requester sees its own mutation twice: the broadcast (fresh id) first, then the answer.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from projectmanagement_core import converters
from projectmanagement_core.exceptions import FieldError, ValidationException
from projectmanagement_core.models import (
    ActivityLogEntry,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    SprintCreated,
    SprintDeleted,
    SprintUpdated,
    WorkItemCreated,
    WorkItemDeleted,
    WorkItemUpdated,
)
from projectmanagement_core.proto import messages_pb2 as pb

__all__ = [
    "ANSWER_ONLY_PAYLOADS",
    "BROADCAST_PAYLOADS",
    "REQUEST_PAYLOADS",
    "Ack",
    "Answer",
    "Broadcast",
    "BroadcastModel",
    "ErrorAnswer",
    "FrameCodec",
    "MalformedFrame",
    "OutgoingFrame",
    "Oversized",
    "Pong",
    "ReceivedEvent",
    "TextFrame",
    "UnknownPayload",
    "check_message_id",
    "head_message_id",
    "new_message_id",
]

BroadcastModel: TypeAlias = (
    WorkItemCreated
    | WorkItemUpdated
    | WorkItemDeleted
    | SprintCreated
    | SprintUpdated
    | SprintDeleted
    | ProjectCreated
    | ProjectUpdated
    | ProjectDeleted
    | ActivityLogEntry
)

#: Entity events: an answer when the id is awaited, else a broadcast. Value: proto -> model.
_ENTITY_EVENTS: Final[dict[str, Callable[[Any], BroadcastModel]]] = {
    "work_item_created": converters.work_item_created_from_proto,
    "work_item_updated": converters.work_item_updated_from_proto,
    "work_item_deleted": converters.work_item_deleted_from_proto,
    "sprint_created": converters.sprint_created_from_proto,
    "sprint_updated": converters.sprint_updated_from_proto,
    "sprint_deleted": converters.sprint_deleted_from_proto,
    "project_created": converters.project_created_from_proto,
    "project_updated": converters.project_updated_from_proto,
    "project_deleted": converters.project_deleted_from_proto,
}
#: Payloads that are only ever broadcast (never an answer).
BROADCAST_PAYLOADS: Final = frozenset({*_ENTITY_EVENTS, "activity_log_created"})
#: Payloads that are only ever answers (lists); Pong, Error and the ack have their own events.
ANSWER_ONLY_PAYLOADS: Final = frozenset({"work_items_list", "sprints_list", "project_list"})
#: Payloads a client sends; the server never sends them, so receiving one is "unknown".
REQUEST_PAYLOADS: Final = frozenset(
    {
        "ping",
        "subscribe",
        "unsubscribe",
        "create_work_item_request",
        "update_work_item_request",
        "delete_work_item_request",
        "get_work_items_request",
        "create_sprint_request",
        "update_sprint_request",
        "delete_sprint_request",
        "get_sprints_request",
        "create_project_request",
        "update_project_request",
        "delete_project_request",
        "list_projects_request",
    }
)
#: Envelope header fields; an unknown field below the first payload number is a corrupt header.
_FIRST_PAYLOAD_NUMBER: Final = 10


# ------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class OutgoingFrame:
    """One encoded request: its id (for correlation) and the bytes of the binary frame."""

    message_id: str
    payload_name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer to one of our requests; ``message`` is the payload as received."""

    message_id: str
    name: str
    message: Message


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """The server refused one of our requests with ``Error``."""

    message_id: str
    error: pb.Error


@dataclass(frozen=True, slots=True)
class Ack:
    """An envelope with no payload: pm-server's acknowledgement of Subscribe/Unsubscribe."""

    message_id: str


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to a Ping, echoing its timestamp."""

    message_id: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Broadcast:
    """A change made by someone (possibly us), already converted to its model."""

    message_id: str
    kind: str
    model: BroadcastModel


@dataclass(frozen=True, slots=True)
class UnknownPayload:
    """A well-formed envelope whose payload this client does not handle (ignored, counted).

    ``field_numbers`` holds payload numbers the schema does not model (e.g. comments, 70);
    ``name`` is set instead when a known payload arrives in the wrong direction (a request).
    """

    message_id: str
    field_numbers: tuple[int, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """Bytes that are not a usable ``WebSocketMessage`` (dropped, counted, logged)."""

    reason: str
    size: int


@dataclass(frozen=True, slots=True)
class Oversized:
    """A frame larger than ``MaxMessageSize``: dropped unread.

    ``message_id`` is read from the frame's head alone (``head_message_id``), so the client can
    fail the request it answers at once; None when the head holds no usable id.
    """

    size: int
    limit: int
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class TextFrame:
    """A text frame: pm-server's rate-limit warnings. Never decoded as protobuf."""

    text: str


ReceivedEvent: TypeAlias = (
    Answer | ErrorAnswer | Ack | Pong | Broadcast | UnknownPayload | MalformedFrame | Oversized | TextFrame
)


# ------------------------------------------------------------------ ids


#: Exactly the strings ``str(uuid.UUID(...))`` produces: lowercase hex, hyphenated 8-4-4-4-12.
_CANONICAL_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _IssuedMessageId(str):
    """A message id this process generated: canonical by construction, so never checked again.

    A plain ``str`` in every other respect (equality, hashing, printing, protobuf fields).
    """

    __slots__ = ()


def new_message_id() -> str:
    """A fresh lowercase hyphenated UUIDv4, the form pm-server expects.

    The same as ``str(uuid.uuid4())`` (version nibble 4, variant bits 10) at half the cost: it runs
    once per request, and building a ``UUID`` object only to print it is most of ``uuid4``'s time.
    Marked as ours, so that ``check_message_id`` (on every attempt of a resilient call) skips it.
    """
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return _IssuedMessageId(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}")


def check_message_id(message_id: str) -> str:
    """Accept a caller-chosen id only in the canonical form, so retries reuse it byte for byte.

    The resilient client passes an id with every request, so this is a pattern match rather than a
    ``uuid.UUID`` parse and print (the same set of strings, several times cheaper), and none at all
    for an id ``new_message_id`` made.

    Raises:
        ValidationException: ``message_id`` is not a lowercase hyphenated UUID.
    """
    if type(message_id) is _IssuedMessageId:
        return message_id
    if not isinstance(message_id, str) or _CANONICAL_UUID.fullmatch(message_id) is None:
        raise ValidationException(
            FieldError("message_id", f"must be a lowercase hyphenated UUID (got {message_id!r})")
        )
    return message_id


# ------------------------------------------------------------------ codec


class FrameCodec:
    """Encodes requests and classifies received frames; holds no connection state.

    Args:
        max_message_size: frames larger than this many bytes decode to ``Oversized``.
        wall_clock: Unix seconds for the envelope ``timestamp`` (the wire wants wall time; this
            is never used for durations).
        new_id: the id factory (tests pin it).
    """

    __slots__ = ("_max_message_size", "_new_id", "_wall_clock")

    def __init__(
        self,
        max_message_size: int,
        *,
        wall_clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_message_id,
    ) -> None:
        self._max_message_size = max_message_size
        self._wall_clock = wall_clock
        self._new_id = new_id

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    def now(self) -> int:
        """The envelope timestamp: whole Unix seconds."""
        return int(self._wall_clock())

    def encode(self, payload_name: str, payload: Message, *, message_id: str | None = None) -> OutgoingFrame:
        """One request frame. ``message_id`` is checked when given, generated when not.

        Raises:
            ValidationException: a caller-given ``message_id`` is not canonical.
            ValueError: ``payload_name`` is not a request payload (a programming error).
        """
        if payload_name not in REQUEST_PAYLOADS:
            raise ValueError(f"not a request payload: {payload_name!r}")
        message_id = self._new_id() if message_id is None else check_message_id(message_id)
        envelope = pb.WebSocketMessage(message_id=message_id, timestamp=self.now())
        getattr(envelope, payload_name).CopyFrom(payload)
        return OutgoingFrame(message_id, payload_name, envelope.SerializeToString())

    def encode_ping(self, *, message_id: str | None = None) -> OutgoingFrame:
        """A heartbeat Ping carrying the current Unix time (the Pong echoes it)."""
        return self.encode("ping", pb.Ping(timestamp=self.now()), message_id=message_id)

    def decode(self, data: bytes | str, *, is_awaited: Callable[[str], bool]) -> ReceivedEvent:
        """Classify one received frame. Never raises on bad input: bad input is an event.

        Args:
            data: the frame as the transport delivered it (``str`` for a text frame).
            is_awaited: whether an id belongs to one of our requests (pending or recently given
                up on), which makes an entity event an answer rather than a broadcast.
        """
        if isinstance(data, str):
            return TextFrame(data)
        size = len(data)
        if size > self._max_message_size:
            return Oversized(size, self._max_message_size, head_message_id(data))
        envelope = pb.WebSocketMessage()
        try:
            envelope.ParseFromString(data)
        except DecodeError:
            return MalformedFrame("not a WebSocketMessage", size)
        unknown = _unknown_field_numbers(envelope)
        if unknown and unknown[0] < _FIRST_PAYLOAD_NUMBER:
            return MalformedFrame("corrupt envelope header", size)
        message_id = envelope.message_id
        name = envelope.WhichOneof("payload")
        if name is None:
            return UnknownPayload(message_id, unknown) if unknown else Ack(message_id)
        if name == "pong":
            return Pong(message_id, envelope.pong.timestamp)
        if name == "error":
            return ErrorAnswer(message_id, envelope.error)
        payload: Message = getattr(envelope, name)
        if name in ANSWER_ONLY_PAYLOADS:
            return Answer(message_id, name, payload)
        if name in _ENTITY_EVENTS and is_awaited(message_id):
            return Answer(message_id, name, payload)
        if name in BROADCAST_PAYLOADS:
            return self._broadcast(message_id, name, payload, size)
        return UnknownPayload(message_id, name=name)

    @staticmethod
    def _broadcast(message_id: str, name: str, payload: Message, size: int) -> Broadcast | MalformedFrame:
        try:
            if name == "activity_log_created":
                assert isinstance(payload, pb.ActivityLogCreated)
                model: BroadcastModel = converters.activity_log_entry_from_proto(payload.entry)
            else:
                model = _ENTITY_EVENTS[name](payload)
        except (ValidationException, ValueError) as exc:  # ValueError: pydantic's ValidationError
            return MalformedFrame(f"invalid {name}: {exc}", size)
        return Broadcast(message_id, name, model)


#: The envelope's field 1 (``message_id``, a string): tag byte (1 << 3) | wire type 2.
_MESSAGE_ID_TAG: Final = 0x0A
#: A canonical id is 36 bytes; a longer one is not ours, so the head is never read further.
_MESSAGE_ID_MAX: Final = 64


def head_message_id(data: bytes) -> str | None:
    """The envelope's ``message_id`` read from the first bytes only, without decoding the frame.

    Protobuf writers emit fields in number order, so a server's envelope starts with field 1. At
    most ``2 + _MESSAGE_ID_MAX`` bytes are looked at, whatever the frame's size; anything that is
    not a short ASCII string in field 1 gives None.
    """
    if len(data) < 2 or data[0] != _MESSAGE_ID_TAG:
        return None
    length = data[1]
    if length > _MESSAGE_ID_MAX or len(data) < 2 + length:  # > 127 would need a 2-byte varint
        return None
    raw = data[2 : 2 + length]
    return raw.decode("ascii") if raw.isascii() else None


def _unknown_field_numbers(envelope: pb.WebSocketMessage) -> tuple[int, ...]:
    """Field numbers the schema does not know, ascending; () for nearly every frame."""
    unknown_set = UnknownFieldSet(envelope)
    if not len(unknown_set):
        return ()
    return tuple(sorted({int(unknown_set[i].field_number) for i in range(len(unknown_set))}))
