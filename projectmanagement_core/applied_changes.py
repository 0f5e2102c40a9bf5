"""Does the server's answer to an update hold what the update asked for?

pm-server v0.1.4 answers some updates without storing them: an update of a work item that changes
only priority, story points or sprint is treated as "no change" (its change tracker does not look
at those fields), answered with the unchanged item, and dropped. A client that trusted the answer
would lose the user's change without a word, so every update answer is compared with its request
here, the way pm-server stores values: free text trimmed, an empty description or goal the same as
none, a cleared id as ``None``.
"""

from __future__ import annotations

from typing import Final, Protocol

from projectmanagement_core.exceptions import UpdateNotAppliedException

__all__ = ["holds_text", "require_applied", "unapplied_fields"]

#: Free-text fields pm-server stores trimmed.
_TRIMMED: Final = frozenset({"title", "description", "name", "goal"})
#: Optional free text where pm-server stores "" for "none" or keeps none for "": the same to a reader.
_EMPTY_IS_NONE: Final = frozenset({"description", "goal"})
_MISSING: Final = object()
#: What Rust's ``str::trim`` removes (Unicode White_Space); Python's ``str.strip()`` also removes
#: U+001C-U+001F. Either trimmed form counts as "stored", so neither a faithful pm-server nor a
#: Python peer that strips is mistaken for one that dropped the text.
_RUST_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class UpdateRequest(Protocol):
    """An update request: it knows the fields it sets, as the entity would hold them."""

    def changed_fields(self) -> dict[str, object]: ...


def holds_text(held: object, sent: str | None) -> bool:
    """True when free text ``sent`` is stored as ``held`` (pm-server stores it trimmed)."""
    return held == sent or (sent is not None and held in (sent.strip(_RUST_WHITESPACE), sent.strip()))


def _holds(name: str, held: object, wanted: object) -> bool:
    if held == wanted:
        return True
    if isinstance(wanted, str) and name in _TRIMMED:
        if holds_text(held, wanted):
            return True
        # An empty description or goal sent to an entity without one leaves it without one.
        return name in _EMPTY_IS_NONE and held is None and holds_text("", wanted)
    return False


def unapplied_fields(request: UpdateRequest, entity: object) -> tuple[str, ...]:
    """The fields ``request`` sets that ``entity`` does not hold, in the request's order."""
    return tuple(
        name
        for name, wanted in request.changed_fields().items()
        if not _holds(name, getattr(entity, name, _MISSING), wanted)
    )


def require_applied(operation: str, request: UpdateRequest, entity: object) -> None:
    """Raise ``UpdateNotAppliedException`` when the answer ``entity`` lacks a field ``request`` set."""
    dropped = unapplied_fields(request, entity)
    if dropped:
        raise UpdateNotAppliedException(operation, entity, dropped)
