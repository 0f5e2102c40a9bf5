"""``pm health``: real pings to a PmTestServer, statistics printed as a table or JSON."""

from __future__ import annotations

from typing import Any

from projectmanagement_services.cli_commands.stats import LatencySummary, percentile
from projectmanagement_services.testing import PmTestServer


async def test_health_pings_count_times_and_prints_rtt_statistics(pm: Any, server: PmTestServer) -> None:
    result = await pm("health", "--count", "4", "--interval", "0")
    assert result.code == 0, result.err
    for label in ("pings sent", "answered", "rtt min", "rtt p50", "rtt p99", "rtt max", "quality"):
        assert label in result.out
    assert server.counters.requests_by_type["ping"] >= 4


async def test_health_json_reports_every_ping_answered(pm: Any) -> None:
    result = await pm("health", "--count", "3", "--interval", "0", "--json")
    assert result.code == 0, result.err
    report = result.json()
    assert (report["sent"], report["answered"], report["lost"]) == (3, 3, {})
    rtt = report["rtt_ms"]
    assert 0 < rtt["min"] <= rtt["p50"] <= rtt["p99"] <= rtt["max"]
    assert report["quality"] in {"Excellent", "Good", "Fair", "Poor"}


def test_percentile_is_nearest_rank() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(samples, 50) == 3.0
    assert percentile(samples, 99) == 5.0
    assert percentile(samples, 20) == 1.0
    assert percentile([7.0], 99) == 7.0


def test_latency_summary_of_nothing_is_none() -> None:
    assert LatencySummary.of([]) is None
    summary = LatencySummary.of([0.002, 0.001, 0.003])
    assert summary is not None
    assert (summary.minimum, summary.p50, summary.maximum, summary.count) == (0.001, 0.002, 0.003, 3)
