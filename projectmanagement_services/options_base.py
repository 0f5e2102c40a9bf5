"""OptionsModel: the base of every component's options (the .NET ``IOptions<T>`` value objects).

Frozen pydantic models with snake_case attributes that read and write the PascalCase keys of
``appsettings.json`` (``FailureThreshold``), so one class serves code and configuration alike.
"""

from __future__ import annotations

from datetime import timedelta
from types import UnionType
from typing import Any, Final, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_pascal
from pydantic_core import PydanticCustomError

__all__ = ["RULE_ERROR", "OptionsModel", "require_at_least_field", "rule_error"]

#: Pydantic error type for a rule whose message never echoes the input: settings show it even for
#: a secret key (``AuthToken must be printable ASCII``), where other messages are masked.
RULE_ERROR: Final = "setting_rule"


class OptionsModel(BaseModel):
    """Immutable, PascalCase-aliased, unknown keys rejected (a typo in a key is an error, not a no-op).

    Numbers are finite (no ``inf``/``NaN``) and never booleans: pydantic would read
    ``"FailureThreshold": true`` as 1, a silent surprise rather than the error it is.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_pascal,
        populate_by_name=True,
        validate_default=True,
        allow_inf_nan=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _is_number(field.annotation):
                raise ValueError("must be a number, not true or false")
        return value


def _is_number(annotation: Any) -> bool:
    """``int``/``float`` (alone or in an optional union), but not ``bool`` itself."""
    origin = get_origin(annotation)
    members = get_args(annotation) if origin is Union or origin is UnionType else (annotation,)
    return bool not in members and any(member in (int, float) for member in members)


def require_at_least_field(value: timedelta, info: ValidationInfo, other: str) -> timedelta:
    """Cross-field rule ``value >= other`` reported on this field (``MaxDelay must be >= InitialDelay``).

    A value that is not positive is reported as such first: ``MaxDelay: -5`` breaks its own rule,
    whatever ``InitialDelay`` says.
    """
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    low = info.data.get(other)
    if isinstance(low, timedelta) and value < low:
        raise ValueError(f"must be >= {to_pascal(other)}")
    return value


def rule_error(message: str) -> PydanticCustomError:
    """An error whose ``message`` (a rule, never the input) settings may show even for a secret."""
    return PydanticCustomError(RULE_ERROR, message)
