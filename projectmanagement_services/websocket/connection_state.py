"""The legal transitions of ``ConnectionState``, in one table that the client enforces.

::

    Disconnected --connect()--> Connecting --ok--> Connected --drop--> Reconnecting
         ^                          |                  |                   |
         +------- failed first -----+                  |            connect() again
         +<------------- disconnect() ----------------+--------------------+
    Connecting --failed reconnect--> Reconnecting      any state but Closed --aclose()--> Closed

A failed ``connect()`` returns to the state it started from (Disconnected or Reconnecting), so a
reconnection loop sees Connecting -> Reconnecting after a failed attempt and Connected ->
Reconnecting only after a real drop. Closed is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from projectmanagement_core.models import ConnectionState

__all__ = ["LEGAL_TRANSITIONS", "IllegalTransitionError", "is_legal_transition"]

_S = ConnectionState

LEGAL_TRANSITIONS: Final[Mapping[ConnectionState, frozenset[ConnectionState]]] = MappingProxyType(
    {
        _S.DISCONNECTED: frozenset({_S.CONNECTING, _S.CLOSED}),
        _S.CONNECTING: frozenset({_S.CONNECTED, _S.DISCONNECTED, _S.RECONNECTING, _S.CLOSED}),
        _S.CONNECTED: frozenset({_S.RECONNECTING, _S.DISCONNECTED, _S.CLOSED}),
        _S.RECONNECTING: frozenset({_S.CONNECTING, _S.DISCONNECTED, _S.CLOSED}),
        _S.CLOSED: frozenset(),
    }
)


class IllegalTransitionError(RuntimeError):
    """A bug in the client: it tried a transition the table forbids."""

    def __init__(self, previous: ConnectionState, current: ConnectionState) -> None:
        self.previous = previous
        self.current = current
        super().__init__(f"illegal connection state transition {previous} -> {current}")


def is_legal_transition(previous: ConnectionState, current: ConnectionState) -> bool:
    """True when the table allows ``previous -> current`` (a state never transitions to itself)."""
    return current in LEGAL_TRANSITIONS[previous]
