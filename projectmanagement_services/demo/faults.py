"""The demo's seeded fault schedule: which fault, when, how much (a pure function of the seed)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

#: The faults the schedule draws from, with their relative weights.
FAULT_KINDS: Final[Mapping[str, int]] = {
    "drop_connections": 3,
    "restart_server": 1,
    "swallow_answers": 3,
    "error_burst": 3,
    "malformed_frame": 2,
}
#: The server's rate limit for the whole run (pm-server's bucket, at a demo's pace): a burst of 100
#: frames per connection, then one per 4 ms (250 a second). The clients are configured with the same.
DEMO_RATE_LIMIT_BURST: Final = 100
DEMO_RATE_LIMIT_PERIOD_S: Final = 0.004
#: The rate-limit phase (``rate_limit_burst``, once a run, at this share of the duration): for
#: ``_BURST_S`` the writer's client also serves ``_BURST_READERS`` readers that ask as fast as they
#: can, far beyond the server's limit. Its rate limiter makes the surplus wait (or fail fast when the
#: wait would pass RequestTimeout): the server refuses nothing and kicks no one.
_BURST_AT: Final = 0.4
_BURST_S: Final = 1.5


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault: when (seconds after the start), what, and how much.

    ``amount``: seconds of downtime for a restart, answers for ``swallow_answers``, failed requests
    for ``error_burst``, seconds of reads beyond the rate limit for ``rate_limit_burst``; unused
    otherwise.
    """

    at_s: float
    kind: str
    amount: float = 0.0


def fault_schedule(duration_s: float, seed: int, *, rate_limit_phase: bool = True) -> list[Fault]:
    """The faults of one run: a pure function of duration and seed, so a failing run can be replayed.

    Random faults drawn from ``FAULT_KINDS``, plus (``rate_limit_phase``) one rate-limit phase at
    40 % of the run.
    """
    rng = random.Random(seed)
    kinds = list(FAULT_KINDS)
    weights = [FAULT_KINDS[k] for k in kinds]
    faults: list[Fault] = []
    at = rng.uniform(0.3, 1.0)
    while at < duration_s - 0.3:
        kind = rng.choices(kinds, weights)[0]
        if kind == "restart_server":
            amount = round(rng.uniform(0.2, 1.5), 3)
        elif kind == "swallow_answers":
            amount = float(rng.randint(1, 3))
        elif kind == "error_burst":
            amount = float(rng.randint(3, 12))
        else:
            amount = 0.0
        faults.append(Fault(round(at, 3), kind, amount))
        at += rng.uniform(0.6, 2.0)
    if rate_limit_phase:
        faults.append(Fault(round(duration_s * _BURST_AT, 3), "rate_limit_burst", _BURST_S))
    return sorted(faults, key=lambda fault: fault.at_s)
