"""The reference pm-ws server for tests, demos and ``pm serve`` (design.md section 9).

``async with PmTestServer() as server:`` serves the protocol of protocol.md on ``server.url``, persists
to SQLite, and exposes ``server.faults`` (make it misbehave, scoped) and ``server.counters`` (prove
exactly-once). Other components' integration tests code against this API, so it only ever grows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services.testing.counters import ServerCounters
    from projectmanagement_services.testing.faults import RateLimitSettings, ServerFaults
    from projectmanagement_services.testing.rate_limit import (
        PM_SERVER_RATE_LIMIT,
        RateLimit,
        TokenBucket,
        rate_limit_warning,
    )
    from projectmanagement_services.testing.server import PmTestServer

#: Exported name -> its module, imported on first access (PEP 562): importing the package stays cheap.
_ORIGINS: dict[str, str] = {
    "PM_SERVER_RATE_LIMIT": "projectmanagement_services.testing.rate_limit",
    "PmTestServer": "projectmanagement_services.testing.server",
    "RateLimit": "projectmanagement_services.testing.rate_limit",
    "RateLimitSettings": "projectmanagement_services.testing.faults",
    "ServerCounters": "projectmanagement_services.testing.counters",
    "ServerFaults": "projectmanagement_services.testing.faults",
    "TokenBucket": "projectmanagement_services.testing.rate_limit",
    "rate_limit_warning": "projectmanagement_services.testing.rate_limit",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _ORIGINS)

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
