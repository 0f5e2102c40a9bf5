"""DropLog: count every dropped frame or entity, log at a bounded rate.

A hostile or broken server can send hundreds of thousands of stray frames a second; one log line
each is a denial of service on the host's disk and on the event loop (issue 14: 492,115 lines,
55.6 MB in 30 s). So each reason logs its first drop at once and then at most one line per
``interval`` seconds, which says how many were suppressed since the last line. Counting is never
rate-limited: every drop is in ``counts`` (and in telemetry, through the client).

Time comes from the injected monotonic clock, so tests drive the interval without waiting.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from projectmanagement_services.clock import MonotonicClock, default_clock

__all__ = ["DEFAULT_LOG_INTERVAL", "DropLog"]

#: At most one log line per reason in this many seconds.
DEFAULT_LOG_INTERVAL: Final = 10.0


@dataclass(slots=True)
class _ReasonState:
    last_logged: float
    suppressed: int = 0


class DropLog:
    """Counts drops by reason and logs them at most once per ``interval`` per reason.

    Args:
        logger: where the lines go.
        clock: monotonic seconds (inject a fake one in tests).
        interval: seconds between two lines of the same reason.
    """

    __slots__ = ("_clock", "_counts", "_interval", "_logger", "_states")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        clock: MonotonicClock = default_clock,
        interval: float = DEFAULT_LOG_INTERVAL,
    ) -> None:
        self._logger = logger
        self._clock = clock
        self._interval = interval
        self._counts: Counter[str] = Counter()
        self._states: dict[str, _ReasonState] = {}

    @property
    def counts(self) -> Mapping[str, int]:
        """Drops by reason since construction (a live, read-only view)."""
        return MappingProxyType(self._counts)

    @property
    def interval(self) -> float:
        return self._interval

    def record(self, reason: str, level: int, message: str, *args: Any) -> bool:
        """Count one drop; log ``message % args`` unless this reason logged within ``interval``.

        Returns whether a line was written. A line written after suppressed ones ends with
        "(K more suppressed)" so the log still says how much was dropped.
        """
        self._counts[reason] += 1
        if not self._logger.isEnabledFor(level):
            return False
        now = self._clock()
        state = self._states.get(reason)
        if state is not None and now - state.last_logged < self._interval:
            state.suppressed += 1
            return False
        suppressed = 0 if state is None else state.suppressed
        self._states[reason] = _ReasonState(now)
        if suppressed:
            self._logger.log(level, message + " (%d more suppressed)", *args, suppressed)
        else:
            self._logger.log(level, message, *args)
        return True
