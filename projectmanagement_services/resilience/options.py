"""Options of the resilience components (appsettings CircuitBreaker, RetryPolicy, Reconnection,
RateLimit)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from projectmanagement_services.durations import Duration
from projectmanagement_services.options_base import OptionsModel, require_at_least_field

__all__ = [
    "CircuitBreakerOptions",
    "JitterMode",
    "RateLimitOptions",
    "ReconnectionOptions",
    "RetryPolicyOptions",
]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be a positive duration")
    return value


class JitterMode(StrEnum):
    """How a backoff delay is randomised.

    ``proportional``: the computed delay plus 0-25 % (the .NET plan's rule).
    ``full``: uniform in [0, computed delay] (AWS "full jitter").
    ``decorrelated``: uniform in [InitialDelay, 3 x previous delay], capped (AWS "decorrelated").
    """

    PROPORTIONAL = "proportional"
    FULL = "full"
    DECORRELATED = "decorrelated"


class CircuitBreakerOptions(OptionsModel):
    """When to stop calling a failing server, and how to test whether it has recovered.

    Upper bounds (as every option here has one): a threshold above 1000 failures or 100 probes
    would never be reached in a failure window, so it can only be a typo.
    """

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    open_duration: Duration = timedelta(seconds=30)
    half_open_success_threshold: int = Field(default=3, ge=1, le=100)
    half_open_max_probes: int = Field(default=1, ge=1, le=100)
    failure_window: Duration = timedelta(seconds=60)

    _check_durations = field_validator("open_duration", "failure_window")(_positive)


class RetryPolicyOptions(OptionsModel):
    """Attempts in all (not retries), and the exponential backoff between them."""

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_delay: Duration = timedelta(milliseconds=100)
    max_delay: Duration = timedelta(seconds=5)
    backoff_multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    jitter: JitterMode = JitterMode.PROPORTIONAL

    _check_initial = field_validator("initial_delay")(_positive)

    @field_validator("max_delay")
    @classmethod
    def _max_after_initial(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        return require_at_least_field(value, info, "initial_delay")


class ReconnectionOptions(OptionsModel):
    """How to come back after an unexpected drop. ``max_attempts=None`` retries forever.

    ``stable_after``: a connection must stay up this long before the backoff schedule starts
    again from ``initial_delay``, so that a flapping server (accepts, then drops at once) is not
    hammered at the shortest delay.
    """

    max_attempts: int | None = Field(default=10, ge=1, le=1_000_000)
    initial_delay: Duration = timedelta(seconds=1)
    max_delay: Duration = timedelta(seconds=30)
    backoff_multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    stable_after: Duration = timedelta(seconds=10)

    _check_initial = field_validator("initial_delay")(_positive)

    @field_validator("max_delay")
    @classmethod
    def _max_after_initial(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        return require_at_least_field(value, info, "initial_delay")


class RateLimitOptions(OptionsModel):
    """The client's model of pm-server's per-connection limit (appsettings ``RateLimit``).

    ``burst`` frames at once, then one per ``period`` (pm-server's ``max_requests`` and
    ``window_secs``: 100 and 60 s by default, ranges 1-10000 and up to 3600 s). ``burst=None``
    (or the whole section ``null``) turns client-side limiting off. Set them to the server's values:
    lower ones cost throughput, higher ones cost refusals (which the client then learns from).
    """

    burst: int | None = Field(default=100, ge=1, le=10_000)
    period: Duration = timedelta(seconds=60)

    @field_validator("period")
    @classmethod
    def _period_in_range(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0) or value > timedelta(hours=1):
            raise ValueError("must be a positive duration of at most 01:00:00")
        return value

    @property
    def enabled(self) -> bool:
        return self.burst is not None
