"""DropLog: every drop counted; at most one line per reason per interval, with a suppressed count."""

from __future__ import annotations

import logging

import pytest

from projectmanagement_services.websocket.drop_log import DropLog

LOGGER = "tests.drop_log"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_reason_per_interval_and_the_next_line_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    clock = Clock()
    drops = DropLog(logging.getLogger(LOGGER), clock=clock, interval=10.0)
    written = [drops.record("malformed", logging.WARNING, "dropped %d", n) for n in range(1000)]
    drops.record("unknown", logging.WARNING, "other reason")
    assert written.count(True) == 1
    assert dict(drops.counts) == {"malformed": 1000, "unknown": 1}
    assert [r.getMessage() for r in caplog.records] == ["dropped 0", "other reason"]

    clock.now = 9.999
    assert not drops.record("malformed", logging.WARNING, "dropped %d", 1000)
    clock.now = 10.0
    assert drops.record("malformed", logging.WARNING, "dropped %d", 1001)
    assert caplog.records[-1].getMessage() == "dropped 1001 (1000 more suppressed)"
    assert drops.counts["malformed"] == 1002


def test_a_disabled_level_still_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, LOGGER)
    drops = DropLog(logging.getLogger(LOGGER), clock=Clock())
    assert not drops.record("late_answer", logging.DEBUG, "late")
    assert drops.counts["late_answer"] == 1
    assert caplog.records == []
