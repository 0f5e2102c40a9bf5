"""RetryPolicy: try an operation again after transient errors, with exponential backoff and jitter."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from projectmanagement_services.clock import RandomSource, SleepFunction, default_random, default_sleep
from projectmanagement_services.events import Event
from projectmanagement_services.resilience.backoff import compute_delay
from projectmanagement_services.resilience.classification import is_transient
from projectmanagement_services.resilience.options import RetryPolicyOptions
from projectmanagement_services.telemetry import PmTelemetry, error_type

__all__ = ["RetryAttempt", "RetryHook", "RetryPolicy"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryAttempt:
    """Handed to ``on_retry`` before each backoff sleep: which attempt failed, why, and the wait."""

    operation: str
    attempt: int  # 1-based number of the attempt that just failed
    delay: timedelta  # the wait before attempt ``attempt + 1``
    error: BaseException


#: Observer of retries; it must not raise (if it does, the error is logged and the retry goes on).
RetryHook = Callable[[RetryAttempt], object]


class RetryPolicy:
    """``max_attempts`` attempts in all, retrying transient errors only (see ``classification``).

    Unlike tenacity, the last exception is re-raised unchanged (no wrapper to unpack), there is
    no sleep after the last attempt, and the schedule is the pure ``backoff.compute_delay``, driven
    by the injected ``random``. Cancellation, including during a backoff sleep, propagates at once.

    Stateless apart from its options and collaborators: one instance is safe to share between
    concurrent operations.

    Observing retries: subscribe to ``on_retry`` (every retry of every operation: how a CLI shows
    attempts and waits), pass ``on_retry`` to ``execute`` for a per-call hook, and/or a ``telemetry``
    object, which receives ``record_retry`` per retry (a ``pm.retry`` span event and a counter) and
    ``record_attempts`` once per execution (``pm.attempts`` on the surrounding operation span).
    """

    def __init__(
        self,
        options: RetryPolicyOptions | None = None,
        *,
        sleep: SleepFunction = default_sleep,
        random: RandomSource = default_random,
        telemetry: PmTelemetry | None = None,
        is_retryable: Callable[[BaseException], bool] = is_transient,
    ) -> None:
        self._options = options or RetryPolicyOptions()
        self._sleep = sleep
        self._random = random
        self._telemetry = telemetry or PmTelemetry.disabled()
        self._is_retryable = is_retryable
        self._initial = self._options.initial_delay.total_seconds()
        self._max_delay = self._options.max_delay.total_seconds()
        #: Raised before each backoff sleep, for every operation run through this policy.
        self.on_retry: Event[RetryAttempt] = Event("on_retry")

    @property
    def options(self) -> RetryPolicyOptions:
        return self._options

    def update_options(self, options: RetryPolicyOptions) -> None:
        """Apply new options live (settings reload): operations already running keep the ones
        they started with, so one operation never mixes two schedules."""
        self._options = options
        self._initial = options.initial_delay.total_seconds()
        self._max_delay = options.max_delay.total_seconds()

    async def execute(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        operation_name: str = "op",
        on_retry: RetryHook | None = None,
    ) -> T:
        """Await ``operation()`` until it returns, fails non-transiently, or attempts run out.

        ``operation`` is called afresh for every attempt (a coroutine cannot be awaited twice).
        Raises the last attempt's exception, unchanged.
        """
        options, initial, max_delay = self._options, self._initial, self._max_delay
        attempt = 1
        previous: float | None = None
        try:
            while True:
                try:
                    return await operation()
                except Exception as exc:
                    if attempt >= options.max_attempts or not self._is_retryable(exc):
                        raise
                    previous = compute_delay(
                        attempt,
                        initial=initial,
                        max_delay=max_delay,
                        multiplier=options.backoff_multiplier,
                        jitter=options.jitter,
                        random=self._random,
                        previous=previous,
                    )
                    self._report(operation_name, attempt, previous, exc, on_retry)
                # Sleep outside the except block: the next attempt's exception must not be
                # chained to this one (its __context__ stays what the operation made it).
                await self._sleep(previous)
                attempt += 1
        finally:
            self._telemetry.record_attempts(attempt)

    def _report(
        self, operation: str, attempt: int, delay: float, exc: Exception, on_retry: RetryHook | None
    ) -> None:
        kind = error_type(exc)
        _log.info("%s attempt %d failed (%s); retrying in %.3f s", operation, attempt, kind, delay)
        self._telemetry.record_retry(operation, attempt, delay, kind)
        if len(self.on_retry):
            self.on_retry.emit(RetryAttempt(operation, attempt, timedelta(seconds=delay), exc))
        if on_retry is not None:
            try:
                on_retry(RetryAttempt(operation, attempt, timedelta(seconds=delay), exc))
            except Exception:
                _log.exception("on_retry hook %r failed", on_retry)

    def __repr__(self) -> str:
        o = self._options
        return (
            f"RetryPolicy(max_attempts={o.max_attempts}, initial_delay={o.initial_delay}, "
            f"max_delay={o.max_delay}, multiplier={o.backoff_multiplier}, jitter={o.jitter.value})"
        )
