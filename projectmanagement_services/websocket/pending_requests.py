"""PendingRequests: the correlation map of in-flight requests (message_id -> future).

The same shape as python-websockets' ``pending_pings``: register a future per request, resolve it
when the answer arrives, and ``fail_all(exc)`` on every kind of disconnect so that callers learn
at once instead of after their timeout. On top of that:

- backpressure: at most ``limit`` requests are in flight; further callers wait for a slot;
- timeouts remove the entry (no leak) and raise ``RequestTimeoutException``;
- ids given up on (timed out, cancelled) are remembered for a while, so that a late answer is
  recognised as ours, counted and dropped, never mistaken for a broadcast;
- the count is reported through ``on_count_changed`` from the map's true size, so it cannot drift.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar

from projectmanagement_core.exceptions import FieldError, RequestTimeoutException, ValidationException
from projectmanagement_services.clock import SleepFunction, default_sleep

__all__ = ["PendingCall", "PendingRequests"]

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    operation: str
    future: asyncio.Future[T] = field(repr=False)


class PendingCall(Generic[T]):
    """One registered request: await its answer with ``wait(timeout)``.

    It holds its own future, so an answer (or a failure) that arrives before the caller starts
    waiting, which happens when the reader runs between ``send`` and ``wait``, is not lost.
    """

    __slots__ = ("_future", "_owner", "message_id", "operation")

    def __init__(
        self, owner: PendingRequests[T], message_id: str, operation: str, future: asyncio.Future[T]
    ) -> None:
        self._owner = owner
        self._future = future
        self.message_id = message_id
        self.operation = operation

    async def wait(self, timeout: timedelta) -> T:
        """The answer, or ``RequestTimeoutException`` after ``timeout`` (the entry is removed).

        Raises:
            RequestTimeoutException: no answer in time.
            Exception: whatever ``reject``/``fail_all`` set (e.g. ``ConnectionException``).
        """
        return await self._owner._wait(self, self._future, timeout)


class PendingRequests(Generic[T]):
    """In-flight requests keyed by ``message_id``, bounded by ``limit``.

    Args:
        limit: MaxPendingRequests; the ``limit + 1``-th caller waits for a slot.
        sleep: the timer behind request timeouts (tests inject a fake one).
        on_count_changed: called with the new size after every change (the health tracker).
        remembered: how many given-up ids to remember for late-answer detection.
    """

    def __init__(
        self,
        limit: int,
        *,
        sleep: SleepFunction = default_sleep,
        on_count_changed: Callable[[int], object] | None = None,
        remembered: int = 4096,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._sleep = sleep
        self._on_count_changed = on_count_changed
        self._entries: dict[str, _Entry[T]] = {}
        self._given_up: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered
        self.late_answers = 0

    # ------------------------------------------------------------------ reading

    @property
    def limit(self) -> int:
        return self._limit

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._entries

    def is_ours(self, message_id: str) -> bool:
        """Pending, or given up on recently: an answer with this id is not a broadcast."""
        return message_id in self._entries or message_id in self._given_up

    # ------------------------------------------------------------------ caller side

    @contextlib.asynccontextmanager
    async def track(self, message_id: str, operation: str) -> AsyncIterator[PendingCall[T]]:
        """Wait for a slot, register ``message_id``, and always unregister on exit.

        Raises:
            ValidationException: ``message_id`` is already in flight (its answers would be ambiguous).
        """
        async with self._slots:
            if message_id in self._entries:
                raise ValidationException(FieldError("message_id", f"{message_id} is already in flight"))
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            self._entries[message_id] = _Entry(operation, future)
            self._given_up.pop(message_id, None)  # a retry reusing its id is awaited again
            self._changed()
            try:
                yield PendingCall(self, message_id, operation, future)
            finally:
                entry = self._entries.get(message_id)
                if entry is not None and entry.future is future:
                    del self._entries[message_id]
                    self._remember(message_id)  # abandoned (cancelled or failed send): answer may come
                    self._changed()
                if future.done() and not future.cancelled():
                    future.exception()  # mark retrieved: a failure nobody awaited is not an error
                else:
                    future.cancel()

    async def _wait(self, call: PendingCall[T], future: asyncio.Future[T], timeout: timedelta) -> T:
        if not future.done():
            timer = asyncio.ensure_future(self._timer(timeout))
            try:
                await asyncio.wait((future, timer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
            if not future.done():
                self._give_up(call.message_id, future)
                raise RequestTimeoutException(call.operation, timeout, call.message_id)
        return future.result()

    async def _timer(self, timeout: timedelta) -> None:
        await self._sleep(timeout.total_seconds())

    # ------------------------------------------------------------------ answer side

    def resolve(self, message_id: str, value: T) -> bool:
        """Complete a request. False (and counted as late) when nobody waits for this id."""
        entry = self._pop(message_id)
        if entry is None:
            self.late_answers += 1
            return False
        entry.future.set_result(value)
        return True

    def reject(self, message_id: str, exc: BaseException) -> bool:
        """Fail one request. False (and counted as late) when nobody waits for this id."""
        entry = self._pop(message_id)
        if entry is None:
            self.late_answers += 1
            return False
        entry.future.set_exception(exc)
        return True

    def fail_all(self, exc_factory: Callable[[], BaseException] | BaseException) -> int:
        """Fail every pending request at once (the connection is gone). Returns how many.

        ``exc_factory`` may be a callable so that each caller gets its own exception object
        (a shared one would collect every caller's traceback).
        """
        entries = list(self._entries.items())
        self._entries.clear()
        for message_id, entry in entries:
            self._remember(message_id)
            if not entry.future.done():
                error = exc_factory() if callable(exc_factory) else exc_factory
                entry.future.set_exception(error)
        if entries:
            self._changed()
        return len(entries)

    # ------------------------------------------------------------------ internals

    def _pop(self, message_id: str) -> _Entry[T] | None:
        entry = self._entries.pop(message_id, None)
        if entry is None or entry.future.done():
            return None
        self._remember(message_id)
        self._changed()
        return entry

    def _give_up(self, message_id: str, future: asyncio.Future[T]) -> None:
        entry = self._entries.get(message_id)
        if entry is not None and entry.future is future:
            del self._entries[message_id]
            self._remember(message_id)
            self._changed()

    def _remember(self, message_id: str) -> None:
        self._given_up[message_id] = None
        self._given_up.move_to_end(message_id)
        while len(self._given_up) > self._remembered:
            self._given_up.popitem(last=False)

    def _changed(self) -> None:
        if self._on_count_changed is not None:
            self._on_count_changed(len(self._entries))
