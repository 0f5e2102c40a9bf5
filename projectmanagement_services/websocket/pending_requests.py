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
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Generic, TypeVar

from projectmanagement_core.exceptions import FieldError, RequestTimeoutException, ValidationException
from projectmanagement_services.clock import SleepFunction, default_sleep
from projectmanagement_services.websocket.deadlines import Deadlines
from projectmanagement_services.websocket.timers import timer_starter

__all__ = ["PendingCall", "PendingRequests"]

T = TypeVar("T")


class PendingCall(Generic[T]):
    """One request's registration: ``async with`` holds its slot, ``wait(timeout)`` awaits the answer.

    Entering waits for a slot and registers ``message_id``; leaving always unregisters it. The call
    owns its future from registration on, so an answer (or a failure) that arrives before the
    caller starts waiting, which happens when the reader runs between ``send`` and ``wait``, is not
    lost. A plain class rather than ``@asynccontextmanager``: it is entered once per request.
    """

    __slots__ = ("_future", "_owner", "message_id", "operation")

    def __init__(self, owner: PendingRequests[T], message_id: str, operation: str) -> None:
        self._owner = owner
        self._future: asyncio.Future[T] | None = None
        self.message_id = message_id
        self.operation = operation

    async def __aenter__(self) -> PendingCall[T]:
        """Wait for a slot, then register.

        Raises:
            ValidationException: ``message_id`` is already in flight (its answers would be ambiguous).
        """
        owner = self._owner
        await owner._slots.acquire()
        try:
            owner._register(self)
        except BaseException:
            owner._slots.release()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._owner._unregister(self)
        finally:
            self._owner._slots.release()

    async def wait(self, timeout: timedelta) -> T:
        """The answer, or ``RequestTimeoutException`` after ``timeout`` (the entry is removed).

        The timeout is a timer that fails the future (as ``reject`` would), so waiting is one
        ``await`` on the future; a cancelled caller cancels the future and leaves on ``__aexit__``.

        Raises:
            RequestTimeoutException: no answer in time.
            Exception: whatever ``reject``/``fail_all`` set (e.g. ``ConnectionException``).
        """
        future = self._future
        if future is None:
            raise RuntimeError("wait() outside 'async with pending.track(...)'")
        if future.done():
            return future.result()
        timer = self._owner._start_timer(timeout.total_seconds(), self._expire, future, timeout)
        try:
            return await future
        finally:
            timer.cancel()

    def _expire(self, future: asyncio.Future[T], timeout: timedelta) -> None:
        if future.done():  # answered or failed in the same loop iteration: the answer wins
            return
        self._owner._give_up(self.message_id, future)
        future.set_exception(RequestTimeoutException(self.operation, timeout, self.message_id))


class PendingRequests(Generic[T]):
    """In-flight requests keyed by ``message_id``, bounded by ``limit``.

    Args:
        limit: MaxPendingRequests; the ``limit + 1``-th caller waits for a slot.
        sleep: what request timeouts wait with; the default ``asyncio.sleep`` uses the loop's own
            timers (no task per request), any other (tests' fake time) is awaited in a task.
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
        #: With the loop's own clock, one heap and one loop handle for all requests' timeouts.
        self._deadlines = Deadlines() if sleep is asyncio.sleep else None
        self._start_timer = self._deadlines.start if self._deadlines is not None else timer_starter(sleep)
        self._on_count_changed = on_count_changed
        self._entries: dict[str, PendingCall[T]] = {}
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

    def operation_of(self, message_id: str) -> str | None:
        """The operation still waiting for ``message_id`` (None when nobody waits)."""
        call = self._entries.get(message_id)
        return None if call is None else call.operation

    # ------------------------------------------------------------------ caller side

    def track(self, message_id: str, operation: str) -> PendingCall[T]:
        """``async with pending.track(id, op) as call``: hold a slot and the registration of ``id``.

        Raises (on entering):
            ValidationException: ``message_id`` is already in flight (its answers would be ambiguous).
        """
        return PendingCall(self, message_id, operation)

    def _register(self, call: PendingCall[T]) -> None:
        message_id = call.message_id
        if message_id in self._entries:
            raise ValidationException(FieldError("message_id", f"{message_id} is already in flight"))
        call._future = asyncio.get_running_loop().create_future()
        self._entries[message_id] = call
        self._given_up.pop(message_id, None)  # a retry reusing its id is awaited again
        self._changed()

    def _unregister(self, call: PendingCall[T]) -> None:
        future = call._future
        if future is None:
            return
        if self._entries.get(call.message_id) is call:
            del self._entries[call.message_id]
            self._remember(call.message_id)  # abandoned (cancelled or failed send): answer may come
            self._changed()
        if future.done() and not future.cancelled():
            future.exception()  # mark retrieved: a failure nobody awaited is not an error
        else:
            future.cancel()

    # ------------------------------------------------------------------ answer side

    def resolve(self, message_id: str, value: T) -> bool:
        """Complete a request. False (and counted as late) when nobody waits for this id."""
        future = self._pop(message_id)
        if future is None:
            self.late_answers += 1
            return False
        future.set_result(value)
        return True

    def reject(self, message_id: str, exc: BaseException) -> bool:
        """Fail one request. False (and counted as late) when nobody waits for this id."""
        future = self._pop(message_id)
        if future is None:
            self.late_answers += 1
            return False
        future.set_exception(exc)
        return True

    def fail_all(self, exc_factory: Callable[[], BaseException] | BaseException) -> int:
        """Fail every pending request at once (the connection is gone). Returns how many.

        ``exc_factory`` may be a callable so that each caller gets its own exception object
        (a shared one would collect every caller's traceback).
        """
        entries = list(self._entries.items())
        self._entries.clear()
        for message_id, call in entries:
            self._remember(message_id)
            future = call._future
            if future is not None and not future.done():
                error = exc_factory() if callable(exc_factory) else exc_factory
                future.set_exception(error)
        if entries:
            self._changed()
        return len(entries)

    # ------------------------------------------------------------------ internals

    def _pop(self, message_id: str) -> asyncio.Future[T] | None:
        """The future still waiting for ``message_id``, unregistered; None when nobody waits."""
        call = self._entries.pop(message_id, None)
        if call is None:
            return None
        self._remember(message_id)
        self._changed()
        future = call._future
        return None if future is None or future.done() else future

    def _give_up(self, message_id: str, future: asyncio.Future[T]) -> None:
        call = self._entries.get(message_id)
        if call is not None and call._future is future:
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
