"""The server-entity converters skip pydantic's re-validation without losing anything it guarantees.

``work_item_from_proto`` and its siblings set the model's state directly (see "trusted construction"
in converters.py). These tests prove each such model is indistinguishable from one pydantic
validated, for any message the wire can carry, and that the shortcut refuses itself for any model
whose validation could reject or change a value.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple
from uuid import UUID, uuid4

import pydantic
import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from projectmanagement_core import converters as c
from projectmanagement_core.exceptions import ValidationException
from projectmanagement_core.models import (
    ActivityLogEntry,
    FieldChange,
    Project,
    Sprint,
    WorkItem,
)
from projectmanagement_core.models._base import FrozenModel, UtcDateTime
from projectmanagement_core.proto import messages_pb2 as pb
from tests.core import strategies as s


class Entity(NamedTuple):
    wire_name: str
    model: type[pydantic.BaseModel]
    from_proto: Callable[[Any], Any]


ENTITIES = [
    Entity("WorkItem", WorkItem, c.work_item_from_proto),
    Entity("Sprint", Sprint, c.sprint_from_proto),
    Entity("Project", Project, c.project_from_proto),
    Entity("ActivityLogEntry", ActivityLogEntry, c.activity_log_entry_from_proto),
    Entity("FieldChange", FieldChange, c.field_change_from_proto),
]
_IDS = [e.wire_name for e in ENTITIES]


@functools.cache
def _wire(wire_name: str, *, valid: bool) -> st.SearchStrategy[Message]:
    return s.wire(wire_name, s.valid_values if valid else s.hostile_values)


def _assert_same_as_validated(model: pydantic.BaseModel) -> None:
    """``model`` equals, in every observable way, what full pydantic validation makes of it."""
    cls = type(model)
    validated = cls.model_validate(model.model_dump())
    from_same_values = cls(**dict(model))

    for other in (validated, from_same_values):
        assert other == model
        assert repr(other) == repr(model)  # same value types, tz objects and field order
        assert hash(other) == hash(model)
        assert other.model_fields_set == model.model_fields_set
        assert other.model_dump(exclude_unset=True) == model.model_dump(exclude_unset=True)
        assert other.model_dump_json() == model.model_dump_json()
    assert model.model_fields_set == set(cls.model_fields)
    assert pickle.loads(pickle.dumps(model)) == model
    for value in dict(model).values():
        if isinstance(value, datetime):
            assert value.tzinfo is UTC
            assert value.microsecond == 0


def test_every_server_entity_takes_the_trusted_path() -> None:
    """If a model change disqualifies one, conversion silently falls back to full (slow) validation."""
    for entity in ENTITIES:
        assert c._takes_converter_values_unchanged(entity.model), entity.wire_name


@pytest.mark.parametrize("entity", ENTITIES, ids=_IDS)
@s.PROPERTY
@given(data=st.data())
def test_converted_entity_equals_a_fully_validated_one(entity: Entity, data: st.DataObject) -> None:
    message = data.draw(_wire(entity.wire_name, valid=True))
    _assert_same_as_validated(entity.from_proto(message))


@pytest.mark.parametrize("entity", ENTITIES, ids=_IDS)
@s.PROPERTY
@given(data=st.data())
def test_hostile_wire_gives_a_validated_equal_model_or_a_named_error(
    entity: Entity, data: st.DataObject
) -> None:
    """Nothing the wire allows slips past as a model that validation would have rejected or changed."""
    message = data.draw(_wire(entity.wire_name, valid=False))
    model: pydantic.BaseModel | None = None
    error: ValidationException | None = None
    try:
        model = entity.from_proto(message)
    except ValidationException as exc:
        error = exc
    if model is not None:
        _assert_same_as_validated(model)
    else:
        assert error is not None
        assert error.errors
        assert all(e.field for e in error.errors)


def test_converted_entity_is_frozen() -> None:
    item = c.work_item_from_proto(
        pb.WorkItem(
            id=str(uuid4()),
            item_type=pb.TASK,
            project_id=str(uuid4()),
            created_by=str(uuid4()),
            updated_by=str(uuid4()),
        )
    )
    with pytest.raises(pydantic.ValidationError):
        item.title = "changed"  # type: ignore[misc]
    assert item.model_copy(update={"title": "copy"}).title == "copy"
    assert item.title == ""


@pytest.mark.parametrize(
    ("ids", "bad_field"),
    [
        (["not-a-uuid"], "work_item.ancestor_ids"),
        ([str(UUID(int=1)), str(UUID(int=2)), "nope"], "work_item.ancestor_ids"),
    ],
)
def test_a_bad_repeated_id_anywhere_names_the_field(ids: list[str], bad_field: str) -> None:
    message = pb.WorkItem(
        id=str(uuid4()),
        item_type=pb.TASK,
        project_id=str(uuid4()),
        created_by=str(uuid4()),
        updated_by=str(uuid4()),
        ancestor_ids=ids,
    )
    with pytest.raises(ValidationException) as info:
        c.work_item_from_proto(message)
    assert info.value.fields == [bad_field]
    assert repr(ids[-1]) in str(info.value)


# ------------------------------------------------------------------ the shortcut refuses itself


class _Constrained(FrozenModel):
    name: Annotated[str, pydantic.Field(max_length=3)]


class _WithValidator(FrozenModel):
    name: str

    @pydantic.field_validator("name")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _Stripping(FrozenModel):
    model_config = pydantic.ConfigDict(str_strip_whitespace=True)
    name: str


class _NaiveTimes(FrozenModel):
    at: datetime | None = None


class _Plain(FrozenModel):
    name: str
    at: UtcDateTime
    note: str | None = None


@pytest.mark.parametrize("model", [_Constrained, _WithValidator, _Stripping, _NaiveTimes])
def test_a_model_whose_validation_could_reject_or_change_a_value_is_not_trusted(
    model: type[pydantic.BaseModel],
) -> None:
    assert not c._takes_converter_values_unchanged(model)


def test_an_untrusted_model_is_validated_and_errors_name_the_field() -> None:
    constrained = c._trusted_constructor(_Constrained, "thing")
    with pytest.raises(ValidationException) as info:
        constrained(name="too long")
    assert info.value.fields == ["thing.name"]

    assert c._trusted_constructor(_WithValidator, "thing")(name="abc").name == "ABC"


def test_trusted_constructor_validates_when_the_values_do_not_name_every_field() -> None:
    """A field added to a model but not yet to its converter gets its default, not a hole."""
    assert c._takes_converter_values_unchanged(_Plain)
    build = c._trusted_constructor(_Plain, "plain")
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

    partial = build(name="x", at=at)
    assert partial == _Plain(name="x", at=at)
    assert partial.model_fields_set == {"name", "at"}  # as validation sets it

    with pytest.raises(ValidationException) as info:
        build(name="x", at=at, note=None, surplus=1)
    assert info.value.fields == ["plain.surplus"]

    complete = build(name="x", at=at, note=None)
    _assert_same_as_validated(complete)


# ------------------------------------------------------------------ the id cache


def test_id_cache_is_bounded_and_keeps_no_failures() -> None:
    maxsize = c._parse_uuid.cache_info().maxsize
    assert maxsize is not None
    for _ in range(maxsize + 10):
        c.uuid_from_wire(str(uuid4()), "id")
    assert c._parse_uuid.cache_info().currsize <= maxsize

    for _ in range(2):  # a failure is raised again, not remembered as a value
        with pytest.raises(ValidationException):
            c.uuid_from_wire("not-a-uuid", "id")
    text = str(uuid4())
    assert c.uuid_from_wire(text, "id") == c.uuid_from_wire(text, "id") == UUID(text)
