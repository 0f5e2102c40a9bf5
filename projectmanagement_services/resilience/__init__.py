"""Resilience: circuit breaker, retry policy with backoff, error classification, and their options.

Composition (design.md section 5): ``breaker.execute(lambda: retry.execute(operation))``, packaged as
``ResilientWebSocketClient``; ``ReconnectionService`` brings a dropped client back and resyncs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from projectmanagement_services._lazy import lazy_exports

if TYPE_CHECKING:
    from projectmanagement_services.resilience.backoff import (
        backoff_delays,
        compute_delay,
        exponential_delay,
        retry_delays,
    )
    from projectmanagement_services.resilience.circuit_breaker import (
        HALF_OPEN_RETRY_AFTER,
        CircuitBreaker,
        CircuitPermit,
        CircuitState,
        CircuitStateChange,
    )
    from projectmanagement_services.resilience.classification import is_breaker_failure, is_transient
    from projectmanagement_services.resilience.idempotency import new_message_id
    from projectmanagement_services.resilience.options import (
        CircuitBreakerOptions,
        JitterMode,
        RateLimitOptions,
        ReconnectionOptions,
        RetryPolicyOptions,
    )
    from projectmanagement_services.resilience.rate_limiter import (
        MAX_SLOWDOWN,
        RateLimiter,
        unbounded_rate_limit_wait,
    )
    from projectmanagement_services.resilience.reconnection_service import (
        ReconnectionResult,
        ReconnectionService,
        TrackedSubscriptions,
    )
    from projectmanagement_services.resilience.resilient_client import ResilientWebSocketClient
    from projectmanagement_services.resilience.retry_policy import RetryAttempt, RetryHook, RetryPolicy

#: Exported name -> its module, imported on first access (PEP 562): importing the package stays cheap.
_ORIGINS: dict[str, str] = {
    "CircuitBreaker": "projectmanagement_services.resilience.circuit_breaker",
    "CircuitBreakerOptions": "projectmanagement_services.resilience.options",
    "CircuitPermit": "projectmanagement_services.resilience.circuit_breaker",
    "CircuitState": "projectmanagement_services.resilience.circuit_breaker",
    "CircuitStateChange": "projectmanagement_services.resilience.circuit_breaker",
    "HALF_OPEN_RETRY_AFTER": "projectmanagement_services.resilience.circuit_breaker",
    "JitterMode": "projectmanagement_services.resilience.options",
    "MAX_SLOWDOWN": "projectmanagement_services.resilience.rate_limiter",
    "RateLimitOptions": "projectmanagement_services.resilience.options",
    "RateLimiter": "projectmanagement_services.resilience.rate_limiter",
    "ReconnectionOptions": "projectmanagement_services.resilience.options",
    "ReconnectionResult": "projectmanagement_services.resilience.reconnection_service",
    "ReconnectionService": "projectmanagement_services.resilience.reconnection_service",
    "ResilientWebSocketClient": "projectmanagement_services.resilience.resilient_client",
    "RetryAttempt": "projectmanagement_services.resilience.retry_policy",
    "RetryHook": "projectmanagement_services.resilience.retry_policy",
    "RetryPolicy": "projectmanagement_services.resilience.retry_policy",
    "RetryPolicyOptions": "projectmanagement_services.resilience.options",
    "TrackedSubscriptions": "projectmanagement_services.resilience.reconnection_service",
    "backoff_delays": "projectmanagement_services.resilience.backoff",
    "compute_delay": "projectmanagement_services.resilience.backoff",
    "exponential_delay": "projectmanagement_services.resilience.backoff",
    "is_breaker_failure": "projectmanagement_services.resilience.classification",
    "is_transient": "projectmanagement_services.resilience.classification",
    "new_message_id": "projectmanagement_services.resilience.idempotency",
    "retry_delays": "projectmanagement_services.resilience.backoff",
    "unbounded_rate_limit_wait": "projectmanagement_services.resilience.rate_limiter",
}
__getattr__, __dir__ = lazy_exports(__name__, globals(), _ORIGINS)

__all__ = [
    "HALF_OPEN_RETRY_AFTER",
    "MAX_SLOWDOWN",
    "CircuitBreaker",
    "CircuitBreakerOptions",
    "CircuitPermit",
    "CircuitState",
    "CircuitStateChange",
    "JitterMode",
    "RateLimitOptions",
    "RateLimiter",
    "ReconnectionOptions",
    "ReconnectionResult",
    "ReconnectionService",
    "ResilientWebSocketClient",
    "RetryAttempt",
    "RetryHook",
    "RetryPolicy",
    "RetryPolicyOptions",
    "TrackedSubscriptions",
    "backoff_delays",
    "compute_delay",
    "exponential_delay",
    "is_breaker_failure",
    "is_transient",
    "new_message_id",
    "retry_delays",
    "unbounded_rate_limit_wait",
]
