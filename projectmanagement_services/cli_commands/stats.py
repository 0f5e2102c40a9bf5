"""Latency summaries: nearest-rank percentiles over the samples of one run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LatencySummary", "percentile"]


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100): always one of the samples, never interpolated.

    Raises:
        ValueError: no samples, or ``q`` out of range.
    """
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    ordered = sorted(samples)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """min / p50 / p99 / max / mean of some round trips, in seconds."""

    count: int
    minimum: float
    p50: float
    p99: float
    maximum: float
    mean: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> LatencySummary | None:
        """None when there is nothing to summarise."""
        if not samples:
            return None
        return cls(
            count=len(samples),
            minimum=min(samples),
            p50=percentile(samples, 50),
            p99=percentile(samples, 99),
            maximum=max(samples),
            mean=sum(samples) / len(samples),
        )
