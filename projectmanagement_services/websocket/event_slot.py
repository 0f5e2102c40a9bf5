"""EventSlot: a per-instance ``Event[T]`` exposed as an attribute that supports ``+=`` and ``-=``.

``client.on_warning += handler`` reads the event, subscribes, and assigns the same object back; a
read-only property would refuse that assignment. The slot accepts only the identical event, so an
event can never be replaced (which would silently drop every subscriber).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

from projectmanagement_services.events import Event

__all__ = ["EventSlot"]

T = TypeVar("T")


class EventSlot(Generic[T]):
    """Descriptor: one ``Event[T]`` per instance, created on first access, never replaceable."""

    __slots__ = ("_key", "_name")

    def __init__(self) -> None:
        self._name = "event"
        self._key = "__event_event"

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._key = f"__event_{name}"

    @overload
    def __get__(self, instance: None, owner: type) -> EventSlot[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> Event[T]: ...

    def __get__(self, instance: object | None, owner: type) -> EventSlot[T] | Event[T]:
        if instance is None:
            return self
        store: dict[str, Any] = instance.__dict__
        event = store.get(self._key)
        if event is None:
            event = store[self._key] = Event[T](self._name)
        return event

    def __set__(self, instance: object, value: Event[T]) -> None:
        if value is not self.__get__(instance, type(instance)):
            raise AttributeError(f"{self._name} cannot be replaced; use += or subscribe()")
