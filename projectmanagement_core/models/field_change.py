"""FieldChange: one field's old and new value, as carried by the *Updated broadcasts."""

from __future__ import annotations

from projectmanagement_core.models._base import FrozenModel

__all__ = ["FieldChange"]


class FieldChange(FrozenModel):
    """A changed field; values are the server's string renderings (``None`` = absent)."""

    field_name: str
    old_value: str | None = None
    new_value: str | None = None
