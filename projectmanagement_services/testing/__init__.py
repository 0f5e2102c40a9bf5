"""The reference pm-ws server for tests, demos and ``pm serve`` (design.md section 9).

``async with PmTestServer() as server:`` serves the protocol of protocol.md on ``server.url``, persists
to SQLite, and exposes ``server.faults`` (make it misbehave, scoped) and ``server.counters`` (prove
exactly-once). Other components' integration tests code against this API, so it only ever grows.
"""

from projectmanagement_services.testing.counters import ServerCounters
from projectmanagement_services.testing.faults import RateLimitSettings, ServerFaults
from projectmanagement_services.testing.rate_limit import (
    PM_SERVER_RATE_LIMIT,
    RateLimit,
    TokenBucket,
    rate_limit_warning,
)
from projectmanagement_services.testing.server import PmTestServer

__all__ = [
    "PM_SERVER_RATE_LIMIT",
    "PmTestServer",
    "RateLimit",
    "RateLimitSettings",
    "ServerCounters",
    "ServerFaults",
    "TokenBucket",
    "rate_limit_warning",
]
