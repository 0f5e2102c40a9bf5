"""The client's seam for a send rate limiter: a Protocol, so ``websocket`` never imports ``resilience``.

``resilience.RateLimiter`` implements it; ``WebSocketClient`` asks it before every frame it sends
(pm-server rate-limits every frame of a connection, pings included) and tells it what the server
said about the rate (warnings, a 1008 close).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Protocol

__all__ = ["RATE_LIMIT_WARNING_PREFIX", "SendGate", "is_rate_limit_warning"]

#: How every pm-server rate-limit warning starts ("Rate limit exceeded. Slow down. (k/5 warnings)").
RATE_LIMIT_WARNING_PREFIX: Final = "Rate limit exceeded"


def is_rate_limit_warning(text: str) -> bool:
    """True for pm-server's warning text frame (a refused frame)."""
    return text.startswith(RATE_LIMIT_WARNING_PREFIX)


class SendGate(Protocol):
    """What the client needs from a rate limiter."""

    def reset(self) -> None:
        """A new connection opened (pm-server gives each connection a fresh bucket)."""
        ...

    def try_acquire(self) -> bool:
        """Take a slot only if one is free now (heartbeat pings)."""
        ...

    def seconds_until_available(self) -> float:
        """How long until a slot is free."""
        ...

    async def acquire(self, operation: str, timeout: timedelta | None) -> float:
        """Wait for a slot within ``timeout`` or raise ``RateLimitExceededException``."""
        ...

    def record_refusal(self) -> None:
        """The server warned that it refused a frame."""
        ...

    def record_close(self) -> None:
        """The server closed the connection for rate limiting."""
        ...
