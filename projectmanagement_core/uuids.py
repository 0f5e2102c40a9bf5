"""UUIDs spelled as pm-server accepts them, in a module of its own so that reading one imports nothing.

The command line parses ids while it builds its parser's answers; taking ``parse_uuid`` from
``validation`` would load every request model (and pydantic) for that.
"""

from __future__ import annotations

import re
from typing import Final
from uuid import UUID

__all__ = ["parse_uuid"]

#: The spellings of a UUID pm-server's parser (Rust ``uuid::Uuid::parse_str``) accepts.
_HYPHENATED: Final = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UPSTREAM_UUID: Final = re.compile(
    rf"[0-9a-fA-F]{{32}}|{_HYPHENATED}|\{{{_HYPHENATED}\}}|urn:uuid:{_HYPHENATED}"
)


def parse_uuid(text: str) -> UUID:
    """A UUID in any spelling pm-server accepts (simple, hyphenated, braced, urn), else ValueError."""
    if not _UPSTREAM_UUID.fullmatch(text):
        raise ValueError(f"not a UUID: {text!r}")
    return UUID(text)
