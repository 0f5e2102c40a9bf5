"""The container builds one RateLimiter from ``RateLimit`` and shares it by client and reconnection."""

from __future__ import annotations

from datetime import timedelta

from projectmanagement_services import AppSettings, create_container
from projectmanagement_services.resilience import RateLimiter


def test_one_rate_limiter_from_the_settings_paces_the_client_and_the_resync() -> None:
    settings = AppSettings.load(
        env={}, overrides={"ProjectManagement": {"RateLimit": {"Burst": 7, "Period": "00:00:02"}}}
    )
    container = create_container(settings)
    limiter = container.rate_limiter()
    assert isinstance(limiter, RateLimiter)
    assert (limiter.burst, limiter.period) == (7, timedelta(seconds=2))
    assert container.inner_client().rate_limiter is limiter
    assert container.reconnection().rate_limiter is limiter
    assert container.rate_limiter() is limiter  # a singleton


def test_null_settings_build_a_limiter_that_is_off() -> None:
    settings = AppSettings.load(env={}, overrides={"ProjectManagement": {"RateLimit": None}})
    assert not create_container(settings).rate_limiter().enabled
