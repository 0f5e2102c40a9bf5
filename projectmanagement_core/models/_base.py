"""Shared model configuration: frozen, strict about unknown keys, UTC whole-second times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["FrozenModel", "UtcDateTime", "to_utc_seconds"]


def to_utc_seconds(value: datetime) -> datetime:
    """Normalise to timezone-aware UTC with whole seconds, as the wire (int64 Unix seconds) carries.

    Naive datetimes are rejected rather than guessed: a silent local-time assumption shifts every
    date by the host's offset.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware (UTC); naive datetimes are ambiguous")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        # Near datetime.min/max an offset can push the UTC instant out of range; pydantic only turns
        # ValueError into a ValidationError, so an OverflowError would escape as a bare crash.
        raise ValueError("datetime is out of range once converted to UTC") from None
    return utc.replace(microsecond=0)


UtcDateTime = Annotated[datetime, AfterValidator(to_utc_seconds)]


class FrozenModel(BaseModel):
    """Base of every model: immutable value objects, unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")
