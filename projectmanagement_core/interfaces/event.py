"""IEvent: the typed observer that stands in for a .NET ``event Action<T>``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

__all__ = ["EventHandler", "IEvent"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

EventHandler = Callable[[T], object]


class IEvent(Protocol[T_co]):
    """Subscribe a synchronous handler; it is called with each value raised, in order of subscription."""

    def subscribe(self, handler: Callable[[T_co], object]) -> None: ...

    def unsubscribe(self, handler: Callable[[T_co], object]) -> None: ...
