"""RateLimiter: pm-server's GCRA on the client's side, on fake time (design.md sections 3 and 5)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from projectmanagement_core.exceptions import RateLimitExceededException
from projectmanagement_services.resilience import (
    MAX_SLOWDOWN,
    RateLimiter,
    RateLimitOptions,
    is_breaker_failure,
    is_transient,
    unbounded_rate_limit_wait,
)
from projectmanagement_services.telemetry import (
    METRIC_RATELIMIT_CLOSES,
    METRIC_RATELIMIT_REFUSALS,
    METRIC_RATELIMIT_WAIT,
)
from projectmanagement_services.testing import TokenBucket
from tests.services.resilience.fake_time import FakeTime
from tests.services.resilience.otel_capture import OtelCapture
from tests.services.websocket.fakes import FakeTime as ManualTime

LONG = timedelta(hours=1)


class RecordingSleep:
    """Time stands still; each sleep is recorded (reservations are computed when they are made)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def limiter(burst: int | None, period: float, time: FakeTime | RecordingSleep | ManualTime) -> RateLimiter:
    options = RateLimitOptions(burst=burst, period=timedelta(seconds=period))
    return RateLimiter(options, clock=time.clock, sleep=time.sleep)


async def test_a_burst_goes_at_once_then_one_slot_per_period_plus_the_margin() -> None:
    time = RecordingSleep()
    bucket = limiter(3, 10.0, time)
    waits = [await bucket.acquire("Op", LONG) for _ in range(6)]
    margin = 0.5  # 5 % of 10 s; the last cell of the burst waits it out too
    assert waits == pytest.approx([0, 0, margin, 10 + margin, 20 + margin, 30 + margin])
    assert bucket.waits == 4
    assert bucket.throttled_seconds == pytest.approx(60 + 4 * margin)


async def test_concurrent_senders_are_served_in_reservation_order() -> None:
    time = ManualTime(start=0.0)
    bucket = limiter(2, 1.0, time)
    order: list[int] = []

    async def send(n: int) -> None:
        await bucket.acquire("Op", LONG)
        order.append(n)

    tasks = [asyncio.create_task(send(n)) for n in range(5)]
    await time.wait_for_sleepers(4)
    assert order == [0]
    for _ in range(4):
        await time.advance(1.05)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_a_resync_larger_than_the_burst_is_never_refused_by_pm_servers_bucket() -> None:
    """300 frames through burst 20 / period 50 ms: every send time conforms to the server's GCRA."""
    time = FakeTime(start=0.0)
    bucket = limiter(20, 0.05, time)
    server = TokenBucket(20, 0.05, time.clock)
    refused = 0
    with unbounded_rate_limit_wait():
        for _ in range(300):
            await bucket.acquire("GetWorkItems", timedelta(seconds=0.001))  # ignored inside the block
            refused += not server.try_acquire()
            time.advance(0.0005)  # the answer's round trip
    assert refused == 0
    assert len(time.sleeps) == 281  # all but 19 of the 20-frame burst waited
    # Paced, not stalled: one slot per period; the 50 ms margin delays the sends, not the schedule.
    assert time.now == pytest.approx(280 * 0.05 + 0.05 + 0.0005, abs=0.002)


async def test_a_wait_longer_than_the_timeout_fails_fast_and_reserves_nothing() -> None:
    time = RecordingSleep()
    bucket = limiter(1, 60.0, time)
    await bucket.acquire("CreateWorkItem", timedelta(seconds=30))
    with pytest.raises(RateLimitExceededException) as caught:
        await bucket.acquire("CreateWorkItem", timedelta(seconds=30))
    exc = caught.value
    assert exc.retry_after == timedelta(seconds=63)  # the period plus its 5 % margin
    assert exc.operation == "CreateWorkItem"
    assert "next token in 63.000 s" in str(exc)
    assert time.sleeps == []
    assert bucket.fail_fasts == 1
    # Nothing was reserved: a patient caller still gets the first free slot.
    assert await bucket.acquire("CreateWorkItem", None) == pytest.approx(63.0)


def test_a_local_refusal_is_neither_retried_nor_a_breaker_failure() -> None:
    exc = RateLimitExceededException(timedelta(seconds=1), "Op")
    assert not is_transient(exc)
    assert not is_breaker_failure(exc)


async def test_reset_gives_a_new_connection_a_full_bucket() -> None:
    time = RecordingSleep()
    bucket = limiter(3, 60.0, time)  # the third cell of a burst waits out the margin
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]
    bucket.reset()
    assert [bucket.try_acquire() for _ in range(3)] == [True, True, False]


async def test_a_reservation_made_before_a_reconnect_is_retaken_in_the_new_bucket() -> None:
    time = ManualTime(start=0.0)
    bucket = limiter(1, 10.0, time)
    await bucket.acquire("Op", LONG)
    waiter = asyncio.create_task(bucket.acquire("Op", LONG))
    await time.wait_for_sleepers(1)
    bucket.reset()  # reconnected: the old bucket is gone
    await time.advance(10.5)
    assert await waiter == pytest.approx(10.5)
    # The waiter took the new bucket's only slot, so the next one waits a period (and margin) again.
    assert bucket.seconds_until_available() == pytest.approx(10.5)


async def test_heartbeat_try_acquire_never_waits_and_never_takes_a_reserved_slot() -> None:
    time = RecordingSleep()
    bucket = limiter(3, 1.0, time)
    await bucket.acquire("Op", LONG)
    assert bucket.try_acquire()  # the last slot free now
    assert not bucket.try_acquire()
    assert bucket.seconds_until_available() == pytest.approx(0.05)  # the last cell, after the margin
    time.now += 0.05
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


async def test_a_server_warning_empties_the_bucket_and_halves_burst_and_rate_once_a_period() -> None:
    time = RecordingSleep()
    capture = OtelCapture()
    bucket = RateLimiter(
        RateLimitOptions(burst=20, period=timedelta(seconds=1)),
        clock=time.clock,
        sleep=time.sleep,
        telemetry=capture.telemetry,
    )
    bucket.record_refusal()
    assert (bucket.burst, bucket.period) == (10, timedelta(seconds=2))
    assert not bucket.try_acquire()
    assert bucket.seconds_until_available() == pytest.approx(2.1)  # a learned period and its margin
    bucket.record_refusal()  # a frame already in flight: the same lesson
    assert (bucket.burst, bucket.period) == (10, timedelta(seconds=2))
    time.now += 2.0
    bucket.record_close()
    assert (bucket.burst, bucket.period) == (5, timedelta(seconds=4))
    assert bucket.reconnect_delay() == 4.0
    assert (bucket.refusals_seen, bucket.closes_seen) == (2, 1)
    assert sum(p.value for p in capture.points(METRIC_RATELIMIT_REFUSALS)) == 2
    assert sum(p.value for p in capture.points(METRIC_RATELIMIT_CLOSES)) == 1


async def test_learning_never_slows_below_the_floor() -> None:
    time = RecordingSleep()
    bucket = limiter(4, 1.0, time)
    for _ in range(20):
        bucket.record_refusal()
        time.now += 1000.0
    assert bucket.burst == 1
    assert bucket.period == timedelta(seconds=MAX_SLOWDOWN)


async def test_time_spent_waiting_is_recorded_per_operation() -> None:
    time = RecordingSleep()
    capture = OtelCapture()
    bucket = RateLimiter(
        RateLimitOptions(burst=1, period=timedelta(seconds=2)),
        clock=time.clock,
        sleep=time.sleep,
        telemetry=capture.telemetry,
    )
    await bucket.acquire("GetSprints", LONG)  # no wait: not recorded
    await bucket.acquire("GetSprints", LONG)
    (point,) = capture.points(METRIC_RATELIMIT_WAIT)
    assert dict(point.attributes) == {"rpc.method": "GetSprints"}
    assert point.count == 1
    assert point.sum == pytest.approx(2.1)


async def test_off_means_no_waiting_but_the_server_is_still_counted() -> None:
    time = RecordingSleep()
    bucket = limiter(None, 60.0, time)
    assert not bucket.enabled
    assert [await bucket.acquire("Op", timedelta(0)) for _ in range(500)] == [0.0] * 500
    assert bucket.try_acquire()
    bucket.record_refusal()
    assert bucket.refusals_seen == 1
    assert bucket.try_acquire()
    assert repr(bucket) == "RateLimiter(off)"


def test_options_follow_pm_server_defaults_and_ranges() -> None:
    options = RateLimitOptions()
    assert (options.burst, options.period) == (100, timedelta(seconds=60))
    with pytest.raises(ValueError, match="less than or equal to 10000"):
        RateLimitOptions(burst=10_001)
    with pytest.raises(ValueError, match="at most 01:00:00"):
        RateLimitOptions(period=timedelta(hours=2))
    with pytest.raises(ValueError, match="positive"):
        RateLimitOptions(period=timedelta(0))


async def test_a_quiet_spell_undoes_one_lesson_at_a_time() -> None:
    time = RecordingSleep()
    bucket = limiter(20, 1.0, time)
    bucket.record_refusal()
    time.now += 2.0  # one learned period later: a new lesson
    bucket.record_refusal()
    assert (bucket.burst, bucket.period) == (5, timedelta(seconds=4))
    time.now += 79.0  # 20 periods of 4 s have not passed since the last lesson
    bucket.try_acquire()
    assert (bucket.burst, bucket.period) == (5, timedelta(seconds=4))
    time.now += 1.0
    bucket.try_acquire()
    assert (bucket.burst, bucket.period) == (10, timedelta(seconds=2))
    time.now += 40.0  # max(30 s, 20 x 2 s)
    await bucket.acquire("Op", LONG)
    assert (bucket.burst, bucket.period) == (20, timedelta(seconds=1))
    time.now += 1000.0
    bucket.try_acquire()
    assert (bucket.burst, bucket.period) == (20, timedelta(seconds=1))  # never beyond the options


async def test_update_options_applies_live_and_keeps_reserved_slots() -> None:
    time = RecordingSleep()
    bucket = limiter(2, 10.0, time)
    assert [await bucket.acquire("Op", LONG) for _ in range(2)] == pytest.approx([0, 0.5])

    # A smaller burst: the slots already taken still count, so the next send waits a whole period.
    bucket.update_options(RateLimitOptions(burst=1, period=timedelta(seconds=10)))
    assert (bucket.burst, bucket.period) == (1, timedelta(seconds=10))
    assert await bucket.acquire("Op", LONG) == pytest.approx(20.5)

    bucket.record_refusal()  # a lesson from the server halves the rate
    assert bucket.period == timedelta(seconds=20)
    # A larger burst is the operator's word: it replaces the lesson and frees room at once.
    bucket.update_options(RateLimitOptions(burst=50, period=timedelta(seconds=1)))
    assert (bucket.burst, bucket.period) == (50, timedelta(seconds=1))
    assert await bucket.acquire("Op", LONG) == 0.0

    bucket.update_options(RateLimitOptions(burst=None))
    assert not bucket.enabled
    assert await bucket.acquire("Op", LONG) == 0.0
