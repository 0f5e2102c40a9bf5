"""Resilience: circuit breaker, retry policy with backoff, error classification, and their options.

Composition (design.md section 5): ``breaker.execute(lambda: retry.execute(operation))``, packaged as
``ResilientWebSocketClient``; ``ReconnectionService`` brings a dropped client back and resyncs it.
"""

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
