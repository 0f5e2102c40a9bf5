"""OptionsModel: the base of every component's options (the .NET ``IOptions<T>`` value objects).

Frozen pydantic models with snake_case attributes that read and write the PascalCase keys of
``appsettings.json`` (``FailureThreshold``), so one class serves code and configuration alike.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, ValidationInfo
from pydantic.alias_generators import to_pascal

__all__ = ["OptionsModel", "require_at_least_field"]


class OptionsModel(BaseModel):
    """Immutable, PascalCase-aliased, unknown keys rejected (a typo in a key is an error, not a no-op)."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_pascal,
        populate_by_name=True,
        validate_default=True,
    )


def require_at_least_field(value: timedelta, info: ValidationInfo, other: str) -> timedelta:
    """Cross-field rule ``value >= other`` reported on this field (``MaxDelay must be >= InitialDelay``)."""
    low = info.data.get(other)
    if isinstance(low, timedelta) and value < low:
        raise ValueError(f"must be >= {to_pascal(other)}")
    return value
