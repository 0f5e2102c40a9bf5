"""Event[T]: the typed observer that stands in for .NET events.

Handlers are synchronous callables, called in subscription order. A handler that raises is logged
and skipped: one bad subscriber never breaks the emitter or the other subscribers. ``+=`` and
``-=`` work as in C#. Thread-safe: the handler list is copied under a lock before each emit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Event"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


class Event(Generic[T]):
    """A list of handlers for values of type ``T``."""

    __slots__ = ("_handlers", "_lock", "_name")

    def __init__(self, name: str = "event") -> None:
        self._name = name
        self._handlers: tuple[Callable[[T], object], ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, handler: Callable[[T], object]) -> None:
        with self._lock:
            self._handlers = (*self._handlers, handler)

    def unsubscribe(self, handler: Callable[[T], object]) -> None:
        """Remove one subscription of ``handler``; unknown handlers are ignored."""
        with self._lock:
            handlers = list(self._handlers)
            if handler in handlers:
                handlers.remove(handler)
                self._handlers = tuple(handlers)

    def __iadd__(self, handler: Callable[[T], object]) -> Event[T]:
        self.subscribe(handler)
        return self

    def __isub__(self, handler: Callable[[T], object]) -> Event[T]:
        self.unsubscribe(handler)
        return self

    def __len__(self) -> int:
        return len(self._handlers)

    def emit(self, value: T) -> None:
        """Call every handler with ``value``; failures are logged, never propagated."""
        for handler in self._handlers:  # a tuple: safe against (un)subscribe during emit
            try:
                handler(value)
            except Exception:
                _log.exception("handler %r of %s failed", handler, self._name)

    def __repr__(self) -> str:
        return f"Event({self._name!r}, handlers={len(self._handlers)})"
