"""The testing package exports exactly its public API (notes/server_api.md)."""

from __future__ import annotations

import projectmanagement_services.testing as testing


def test_exports_are_exactly_the_public_api() -> None:
    assert set(testing.__all__) == {
        "PM_SERVER_RATE_LIMIT",
        "PmTestServer",
        "RateLimit",
        "RateLimitSettings",
        "ServerCounters",
        "ServerFaults",
        "TokenBucket",
        "rate_limit_warning",
    }
    for name in testing.__all__:
        assert getattr(testing, name).__module__.startswith("projectmanagement_services.testing.")


def test_rate_limit_warning_text_matches_pm_server() -> None:
    assert testing.rate_limit_warning(2) == "Rate limit exceeded. Slow down. (2/5 warnings)"
