"""Resilience: circuit breaker, retry policy with backoff, error classification, and their options.

Composition (design.md section 5): ``breaker.execute(lambda: retry.execute(operation))``.
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
from projectmanagement_services.resilience.options import (
    CircuitBreakerOptions,
    JitterMode,
    ReconnectionOptions,
    RetryPolicyOptions,
)
from projectmanagement_services.resilience.retry_policy import RetryAttempt, RetryHook, RetryPolicy

__all__ = [
    "HALF_OPEN_RETRY_AFTER",
    "CircuitBreaker",
    "CircuitBreakerOptions",
    "CircuitPermit",
    "CircuitState",
    "CircuitStateChange",
    "JitterMode",
    "ReconnectionOptions",
    "RetryAttempt",
    "RetryHook",
    "RetryPolicy",
    "RetryPolicyOptions",
    "backoff_delays",
    "compute_delay",
    "exponential_delay",
    "is_breaker_failure",
    "is_transient",
    "retry_delays",
]
