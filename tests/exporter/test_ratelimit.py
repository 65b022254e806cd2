"""The rate-limited log: the first occurrence at once, then one line per interval with the count."""

from __future__ import annotations

import logging

import pytest

from agentlog.exporter.ratelimit import RateLimitedLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_with_what_happened_meanwhile(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    clock = Clock()
    problem = RateLimitedLog(logging.getLogger("agentlog.test"), "dropped spans", interval_s=60, clock=clock)
    problem.record(3, "queue full")
    for _ in range(100):
        clock.now += 0.5
        problem.record()
    assert [r.getMessage() for r in caplog.records] == ["dropped spans: 3 (3 in all): queue full"]
    clock.now += 10
    problem.record(2)
    assert caplog.records[-1].getMessage() == "dropped spans: 102 in the last 60s (105 in all)"
    assert problem.total == 105
