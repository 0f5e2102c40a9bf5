"""``pm demo`` under a rate limit: the server limits, the clients mirror it, a phase floods it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest

from projectmanagement_services.demo import (
    DEMO_RATE_LIMIT_BURST,
    DEMO_RATE_LIMIT_PERIOD_S,
    demo_settings,
    fault_schedule,
    run_chaos,
)

NO_KICK = "no 1008 close caused by the clients' own traffic"


@pytest.mark.parametrize(("duration", "seed"), [(20.0, 0), (60.0, 7), (3.0, 2)])
def test_every_schedule_has_one_rate_limit_phase_at_forty_percent(duration: float, seed: int) -> None:
    bursts = [f for f in fault_schedule(duration, seed) if f.kind == "rate_limit_burst"]
    assert [f.at_s for f in bursts] == [pytest.approx(duration * 0.4)]
    assert bursts[0].amount > 0
    assert "rate_limit_burst" not in {f.kind for f in fault_schedule(duration, seed, rate_limit_phase=False)}
    times = [f.at_s for f in fault_schedule(duration, seed)]
    assert times == sorted(times)


def test_the_clients_are_told_the_servers_limit() -> None:
    options = demo_settings("ws://127.0.0.1:1/ws", uuid4()).project_management.rate_limit
    assert options.burst == DEMO_RATE_LIMIT_BURST
    assert options.period == timedelta(seconds=DEMO_RATE_LIMIT_PERIOD_S)


async def test_a_run_reports_the_limit_and_is_never_kicked() -> None:
    async with asyncio.timeout(90):
        report = await run_chaos(4.0, seed=2, workers=5)
    assert report.passed, report.failed_checks
    assert report.faults["rate_limit_burst"] == 1
    assert report.throttled_sends > 0  # the burst went beyond the limit: the limiter made it wait
    (check,) = [c for c in report.checks if c.name == NO_KICK]
    assert check.passed
    assert report.rate_limit_closes == 0
    assert report.rate_limit == "100 frames, then 1 per 4 ms, per connection"
