"""The peers a user would pick instead of this project's breaker and retry, configured alike.

Equivalent configuration everywhere: retry on one exception type (``ConnectionException``, the
transient error), 3 attempts in all, exponential backoff from ``delay`` doubling up to 5 s;
breakers open after 5 failures and stay open 30 s. Peers live in the optional ``bench`` extra: a
missing one is skipped with a note so that CI (``.[dev]`` only) still runs the scripts.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["PEER_MODULES", "Peer", "build_peers", "missing_peers"]

AsyncFn = Callable[[], Awaitable[Any]]

#: Distribution name -> import name.
PEER_MODULES = {
    "tenacity": "tenacity",
    "stamina": "stamina",
    "backoff": "backoff",
    "purgatory": "purgatory",
    "aiobreaker": "aiobreaker",
    "circuitbreaker": "circuitbreaker",
}

ATTEMPTS = 3
THRESHOLD = 5
OPEN_SECONDS = 30.0
MAX_DELAY = 5.0


@dataclass(frozen=True, slots=True)
class Peer:
    """A peer wrapper factory: ``wrap(op)`` returns the resilient zero-argument callable.

    ``kind`` is ``retry``, ``breaker`` or ``stack``: it decides which correctness check applies.
    ``rejection`` is the exception a breaker raises when open (None for retries).
    """

    name: str
    kind: str
    wrap: Callable[[AsyncFn], AsyncFn]
    rejection: type[BaseException] | None = None


def missing_peers() -> list[str]:
    """Peers that cannot be imported (the ``bench`` extra is optional)."""
    missing = []
    for name, module in PEER_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(name)
    return missing


def build_peers(transient: type[Exception], delay: float) -> list[Peer]:
    """Every installed peer, configured as this project's defaults (``delay`` = InitialDelay)."""
    missing = set(missing_peers())
    peers: list[Peer] = []
    if "tenacity" not in missing:
        peers.append(Peer("tenacity @retry", "retry", _tenacity(transient, delay)))
    if "stamina" not in missing:
        peers.append(Peer("stamina @retry", "retry", _stamina(transient, delay)))
    if "backoff" not in missing:
        peers.append(Peer("backoff @on_exception", "retry", _backoff(transient, delay)))
    if "purgatory" not in missing:
        peers.append(_purgatory(transient))
    if "aiobreaker" not in missing:
        peers.append(_aiobreaker(transient))
    if "circuitbreaker" not in missing:
        peers.append(_circuitbreaker(transient))
    if "purgatory" not in missing and "tenacity" not in missing:
        breaker = _purgatory(transient)
        retry = _tenacity(transient, delay)
        peers.append(
            Peer("purgatory(tenacity(op))", "stack", lambda op: breaker.wrap(retry(op)), breaker.rejection)
        )
    return peers


def _tenacity(transient: type[Exception], delay: float) -> Callable[[AsyncFn], AsyncFn]:
    import tenacity

    def wrap(op: AsyncFn) -> AsyncFn:
        # Decorating a coroutine function makes tenacity use AsyncRetrying (asyncio.sleep).
        decorated: AsyncFn = tenacity.retry(
            retry=tenacity.retry_if_exception_type(transient),
            stop=tenacity.stop_after_attempt(ATTEMPTS),
            wait=tenacity.wait_exponential(multiplier=delay, min=delay, max=MAX_DELAY)
            + tenacity.wait_random(0, delay / 4),
            reraise=True,  # the last real error, not RetryError, as this project does
        )(_as_coroutine_function(op))
        return decorated

    return wrap


def _stamina(transient: type[Exception], delay: float) -> Callable[[AsyncFn], AsyncFn]:
    import stamina

    def wrap(op: AsyncFn) -> AsyncFn:
        decorated: AsyncFn = stamina.retry(
            on=transient,
            attempts=ATTEMPTS,
            timeout=None,
            wait_initial=delay,
            wait_max=MAX_DELAY,
            wait_jitter=delay / 4,
            wait_exp_base=2,
        )(_as_coroutine_function(op))
        return decorated

    return wrap


def _backoff(transient: type[Exception], delay: float) -> Callable[[AsyncFn], AsyncFn]:
    import backoff

    def wrap(op: AsyncFn) -> AsyncFn:
        decorated: AsyncFn = backoff.on_exception(
            backoff.expo,
            transient,
            max_tries=ATTEMPTS,
            factor=delay,
            max_value=MAX_DELAY,
            jitter=backoff.full_jitter,
            logger=None,  # no log record per retry: the others do not log either
        )(_as_coroutine_function(op))
        return decorated

    return wrap


_purgatory_serial = 0


def _purgatory(transient: type[Exception]) -> Peer:
    import purgatory
    from purgatory.domain.model import OpenedState

    global _purgatory_serial
    _purgatory_serial += 1
    factory = purgatory.AsyncCircuitBreakerFactory(default_threshold=THRESHOLD, default_ttl=OPEN_SECONDS)
    circuit = f"bench-{_purgatory_serial}"

    def wrap(op: AsyncFn) -> AsyncFn:
        decorated: AsyncFn = factory(circuit)(op)
        return decorated

    return Peer("purgatory", "breaker", wrap, OpenedState)


def _aiobreaker(transient: type[Exception]) -> Peer:
    import aiobreaker

    breaker = aiobreaker.CircuitBreaker(fail_max=THRESHOLD, timeout_duration=timedelta(seconds=OPEN_SECONDS))

    def wrap(op: AsyncFn) -> AsyncFn:
        decorated: AsyncFn = breaker(_as_coroutine_function(op))
        return decorated

    return Peer("aiobreaker", "breaker", wrap, aiobreaker.CircuitBreakerError)


def _circuitbreaker(transient: type[Exception]) -> Peer:
    import circuitbreaker

    def wrap(op: AsyncFn) -> AsyncFn:
        decorated: AsyncFn = circuitbreaker.circuit(
            failure_threshold=THRESHOLD, recovery_timeout=OPEN_SECONDS, expected_exception=transient
        )(_as_coroutine_function(op))
        return decorated

    return Peer("circuitbreaker @circuit", "breaker", wrap, circuitbreaker.CircuitBreakerError)


def _as_coroutine_function(op: AsyncFn) -> AsyncFn:
    """The decorators inspect ``iscoroutinefunction``: hand them one even for a partial/lambda."""
    import inspect

    if inspect.iscoroutinefunction(op):
        return op

    async def call() -> Any:
        return await op()

    return call
