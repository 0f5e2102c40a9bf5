"""What a chaos run reports: its checks, live progress, events, and the final report."""

from __future__ import annotations

import importlib
import os
from collections import Counter
from dataclasses import dataclass, field

from projectmanagement_services.demo.faults import DEMO_RATE_LIMIT_BURST, DEMO_RATE_LIMIT_PERIOD_S


@dataclass(frozen=True, slots=True)
class ChaosCheck:
    """One correctness check of the run."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ChaosProgress:
    """What ``on_progress`` receives about once a second during the run."""

    elapsed_s: float
    duration_s: float
    acknowledged: int
    failed: int
    faults_injected: int
    reconnects: int
    retries: int = 0
    breaker_trips: int = 0
    #: The writer's connection state and circuit state (``ConnectionState``/``CircuitState`` values).
    connection_state: str = ""
    breaker_state: str = ""


@dataclass(frozen=True, slots=True)
class ChaosEvent:
    """One thing that happened during the run, as it happened (``on_event``): for a live view or a plot.

    ``kind`` and ``name``: ``"operation"`` (name: create/update/delete; ``duration_s`` its latency,
    ``ok`` whether it was acknowledged, ``detail`` the failure reason), ``"fault"`` (name: the fault
    kind, ``amount`` as in ``Fault``), ``"connection"`` (name: the writer's new ``ConnectionState``),
    ``"breaker"`` (name: the writer's new ``CircuitState``), ``"reconnected"`` (name: ``"writer"`` or
    ``"subscriber"``; ``amount``: items resynced). ``at_s``: seconds since the chaos phase started
    (0 before it). Nothing is recorded when no ``on_event`` is given, so a soak's memory stays flat.
    """

    at_s: float
    kind: str
    name: str
    ok: bool = True
    duration_s: float = 0.0
    amount: float = 0.0
    detail: str = ""


@dataclass
class ChaosReport:
    """Everything one run did and found. ``passed`` is True when every check passed."""

    seed: int
    duration_s: float
    workers: int
    acknowledged: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    settled: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    frames_dropped: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    breaker_trips: int = 0
    reconnects: int = 0
    subscriber_reconnects: int = 0
    server_items: int = 0
    expected_items: int = 0
    server_replays: int = 0
    #: The server's rate limit, as the output states it.
    rate_limit: str = (
        f"{DEMO_RATE_LIMIT_BURST} frames, then 1 per {DEMO_RATE_LIMIT_PERIOD_S * 1000:g} ms, per connection"
    )
    #: Frames the server refused (warnings the clients received) and connections it kicked (1008).
    rate_limit_refusals: int = 0
    rate_limit_closes: int = 0
    #: Sends that waited for a rate-limit slot, and the seconds they waited in all (both clients).
    throttled_sends: int = 0
    throttled_s: float = 0.0
    #: Sends refused by the clients' own limiter: their slot was further away than RequestTimeout.
    rate_limit_fail_fasts: int = 0
    operations_measured: int = 0
    rss_growth_bytes: int | None = None
    elapsed_s: float = 0.0
    checks: list[ChaosCheck] = field(default_factory=list)

    @property
    def operations(self) -> int:
        """Operations attempted during the chaos (acknowledged + failed)."""
        return sum(self.acknowledged.values()) + sum(self.failed.values())

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> list[ChaosCheck]:
        return [check for check in self.checks if not check.passed]

    @property
    def rss_mb_per_100k_operations(self) -> float | None:
        """RSS growth from warm-up to the end, scaled to 100,000 operations."""
        if self.rss_growth_bytes is None or self.operations_measured <= 0:
            return None
        return self.rss_growth_bytes / (1024 * 1024) * 100_000 / self.operations_measured


def rss_bytes() -> int | None:
    """Resident set size of this process: /proc/self/statm, else psutil when installed, else None."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        psutil = importlib.import_module("psutil")  # optional (the bench extra), untyped
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)
