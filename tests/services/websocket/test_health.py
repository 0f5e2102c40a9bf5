"""ConnectionHealthTracker with an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from projectmanagement_core.interfaces import IConnectionHealth
from projectmanagement_core.models import ConnectionQuality
from projectmanagement_services.websocket.health import ConnectionHealthTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def tracker(window: int = 5) -> tuple[ConnectionHealthTracker, Clock]:
    clock = Clock()
    return ConnectionHealthTracker(clock=clock, window=window), clock


def test_implements_the_interface() -> None:
    health: IConnectionHealth = tracker()[0]
    assert health.latency is None


def test_no_sample_means_no_latency_and_unknown_quality() -> None:
    health, _ = tracker()
    health.mark_connected()
    assert health.latency is None
    assert health.last_latency is None
    assert health.quality is ConnectionQuality.UNKNOWN


def test_sub_millisecond_round_trip_is_a_real_value() -> None:
    health, _ = tracker()
    health.mark_connected()
    health.record_latency(0.0004)
    assert health.latency == timedelta(microseconds=400)
    assert health.quality is ConnectionQuality.EXCELLENT
    health.record_latency(timedelta(0))
    assert health.last_latency == timedelta(0)


def test_latency_is_smoothed_over_the_window_not_the_last_sample() -> None:
    health, _ = tracker(window=3)
    health.mark_connected()
    for seconds in (0.9, 0.05, 0.05, 0.05):  # 0.9 falls out of the window of 3
        health.record_latency(seconds)
    assert health.latency == timedelta(seconds=0.05)
    health.record_latency(0.35)
    assert health.last_latency == timedelta(seconds=0.35)
    assert health.latency == timedelta(seconds=(0.05 + 0.05 + 0.35) / 3)
    assert health.quality is ConnectionQuality.GOOD


@pytest.mark.parametrize(
    ("seconds", "quality"),
    [
        (0.099, ConnectionQuality.EXCELLENT),
        (0.1, ConnectionQuality.GOOD),
        (0.299, ConnectionQuality.GOOD),
        (0.3, ConnectionQuality.FAIR),
        (0.999, ConnectionQuality.FAIR),
        (1.0, ConnectionQuality.POOR),
    ],
)
def test_quality_follows_the_thresholds(seconds: float, quality: ConnectionQuality) -> None:
    health, _ = tracker()
    health.mark_connected()
    health.record_latency(seconds)
    assert health.quality is quality


def test_disconnected_quality_and_latency_window_cleared() -> None:
    health, _ = tracker()
    health.mark_connected()
    health.record_latency(0.01)
    health.mark_disconnected()
    assert not health.is_connected
    assert health.quality is ConnectionQuality.DISCONNECTED
    assert health.latency is None


def test_last_sent_and_received_come_from_the_injected_clock() -> None:
    health, clock = tracker()
    assert health.last_message_sent is None
    assert health.last_message_received is None
    health.record_sent()
    clock.now = 105.5
    health.record_received()
    assert health.last_message_sent == 100.0
    assert health.last_message_received == 105.5


def test_pending_count_is_set_not_incremented() -> None:
    health, _ = tracker()
    health.set_pending_requests(3)
    health.set_pending_requests(0)
    assert health.pending_requests == 0
    with pytest.raises(ValueError, match="negative"):
        health.set_pending_requests(-1)


def test_reconnect_attempts_count_until_connected() -> None:
    health, _ = tracker()
    health.record_reconnect_attempt()
    health.record_reconnect_attempt()
    assert health.reconnect_attempts == 2
    health.mark_connected()
    assert health.reconnect_attempts == 0


def test_negative_round_trip_is_rejected() -> None:
    health, _ = tracker()
    with pytest.raises(ValueError, match="negative"):
        health.record_latency(-0.1)


def test_repr_shows_no_secrets_and_reads_well() -> None:
    health, _ = tracker()
    health.mark_connected()
    health.record_latency(0.0025)
    assert repr(health) == (
        "ConnectionHealthTracker(connected=True, latency=2.500ms, pending=0, reconnect_attempts=0)"
    )
