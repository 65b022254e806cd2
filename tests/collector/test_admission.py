"""Intake's admission: bytes in flight bounded by memory and by time, on a clock the test drives."""

from __future__ import annotations

import heapq
from collections.abc import Callable

import pytest

from agentlog.collector.admission import Admission, Hold
from agentlog.errors import Overloaded


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def measure_rate(
    admission: Admission, clock: Clock, bytes_per_second: float, seconds: float = 4.0, together: int = 2
) -> None:
    """Requests worked on ``together`` at a time for ``seconds``, getting through ``bytes_per_second``."""
    step = 0.1
    for _ in range(round(seconds / step)):
        started = [admission.work_started() for _ in range(together)]
        clock.now += step
        for start in started:
            admission.work_ended(round(bytes_per_second * step / together), start)


def test_bytes_past_the_memory_bound_are_refused_and_given_back_on_exit() -> None:
    clock = Clock()
    admission = Admission(max_bytes=100, clock=clock)
    with admission.hold() as first:
        first.take(60)
        with admission.hold() as second, pytest.raises(Overloaded, match="intake is full") as caught:
            second.take(50)
        assert caught.value.retry_after >= 1
        assert admission.in_flight == 60  # the refused bytes were never counted
        clock.now += caught.value.retry_after + 1  # the refused sender did not come back: its room is free
        with admission.hold() as third:
            third.take(40)  # exactly the limit
            assert admission.in_flight == 100
    assert admission.in_flight == 0
    with admission.hold() as later:
        later.take(50)


def test_a_request_alone_always_gets_in_however_large() -> None:
    admission = Admission(max_bytes=100, clock=Clock())
    with admission.hold() as alone:
        alone.take(80)
        alone.take(80)  # inflating past the bound: nobody else is waiting on it
        assert admission.in_flight == 160
        with admission.hold() as other, pytest.raises(Overloaded):
            other.take(1)


def test_a_failing_request_gives_its_bytes_back() -> None:
    admission = Admission(max_bytes=100, clock=Clock())
    with pytest.raises(ValueError), admission.hold() as hold:
        hold.take(70)
        raise ValueError("decode failed")
    assert admission.in_flight == 0


def test_the_time_bound_is_what_the_measured_rate_gets_through_in_the_target_wait() -> None:
    clock = Clock()
    admission = Admission(max_bytes=1_000_000, target_wait=6.0, clock=clock)
    assert admission.rate is None and admission.limit == 1_000_000  # nothing measured: memory alone
    measure_rate(admission, clock, bytes_per_second=1000)
    assert admission.rate == pytest.approx(1000)
    # A third of the target's worth: the slowest requests wait about three times the average.
    assert admission.limit == 2000
    with admission.hold() as first:
        first.take(1500)
        with admission.hold() as second, pytest.raises(Overloaded, match=r"need about 1\.5 s to commit") as caught:
            second.take(600)
        assert caught.value.retry_after == pytest.approx(1.5)
        with admission.hold() as third, pytest.raises(Overloaded):
            third.take(500)  # it would fit, but the refused 600 have their turn first
        clock.now += 2.6  # the refused sender did not come back after its Retry-After and a second
        with admission.hold() as third:
            third.take(500)


def test_the_rate_follows_a_change_and_idle_time_does_not_count() -> None:
    clock = Clock()
    admission = Admission(max_bytes=10**9, target_wait=15.0, clock=clock)
    measure_rate(admission, clock, bytes_per_second=1000)
    clock.now += 3600  # an idle hour: not slowness
    measure_rate(admission, clock, bytes_per_second=1000)
    assert admission.rate == pytest.approx(1000)
    measure_rate(admission, clock, bytes_per_second=10_000, seconds=2.0)  # a faster phase: the rate follows
    assert 1000 < admission.rate < 10_000  # type: ignore[operator]
    measure_rate(admission, clock, bytes_per_second=10_000, seconds=2.0)
    assert admission.rate == pytest.approx(10_000)  # the window (3 s of busy time) is all in the new phase
    assert admission.limit == 50_000


def test_overlapping_requests_measure_the_rate_of_the_whole_not_each() -> None:
    clock = Clock()
    admission = Admission(max_bytes=10**9, target_wait=1.0, clock=clock)
    for _ in range(20):  # four at a time, each 100 bytes taking 0.2 s: 2000 bytes/s together
        started = [admission.work_started() for _ in range(4)]
        clock.now += 0.2
        for start in started:
            admission.work_ended(100, start)
    assert admission.rate == pytest.approx(2000)


def test_a_lone_senders_pace_does_not_bound_intake() -> None:
    # One request at a time shows how long a request takes (here 0.1 s for 100 bytes), not how much
    # the server could get through: a burst after it must not be refused on that account.
    clock = Clock()
    admission = Admission(max_bytes=10**6, target_wait=1.0, clock=clock)
    measure_rate(admission, clock, bytes_per_second=1000, seconds=10, together=1)
    assert admission.rate is None
    assert admission.limit == 10**6


def test_the_memory_bound_caps_the_time_bound_and_a_zero_target_turns_time_off() -> None:
    clock = Clock()
    fast = Admission(max_bytes=500, target_wait=5.0, clock=clock)
    measure_rate(fast, clock, bytes_per_second=1000)
    assert fast.limit == 500
    untimed = Admission(max_bytes=10**6, target_wait=0, clock=clock)
    measure_rate(untimed, clock, bytes_per_second=10)
    assert untimed.limit == 10**6


def test_retry_after_is_between_one_second_and_the_target_wait() -> None:
    clock = Clock()
    admission = Admission(max_bytes=10**9, target_wait=5.0, clock=clock)
    assert admission.retry_after() == 1.0  # no rate yet
    measure_rate(admission, clock, bytes_per_second=100)
    with admission.hold() as hold:
        hold.take(50)
        assert admission.retry_after() == 1.0
        hold.take(5000)
        assert admission.retry_after() == 5.0


def test_no_rate_until_a_whole_window_of_busy_time() -> None:
    clock = Clock()
    admission = Admission(max_bytes=10**6, target_wait=1.0, clock=clock)
    measure_rate(admission, clock, bytes_per_second=1000, seconds=2.5)
    assert admission.rate is None
    measure_rate(admission, clock, bytes_per_second=1000, seconds=1.0)
    assert admission.rate == pytest.approx(1000)


MIB = 1024 * 1024


class Senders:
    """Senders in a closed loop on the fake clock, each of requests of its own size: each sends again
    as soon as it is answered, and when refused retries a second later (the shortest Retry-After)."""

    def __init__(self, admission: Admission, clock: Clock, sizes: list[int]) -> None:
        self.admission, self.clock = admission, clock
        self.ready = list(sizes)  # the request sizes of the senders with a request to send now
        self.retrying: list[tuple[float, int]] = []  # (when a refused sender sends again, its size)
        self.working: list[tuple[float, int, Hold, float, int]] = []  # (answered at, order, hold, started, size)
        self.admitted: dict[int, int] = {}  # requests let in, by size
        self._order = 0

    def run(self, seconds: float, service: Callable[[], float]) -> tuple[int, int]:
        """Run for ``seconds`` with each admitted request taking ``service()`` seconds; (admitted, refused)."""
        admitted = refused = 0
        end = self.clock.now + seconds
        while self.clock.now < end:
            while self.retrying and self.retrying[0][0] <= self.clock.now:
                self.ready.append(heapq.heappop(self.retrying)[1])
            ready, self.ready = self.ready, []
            for size in ready:
                hold = self.admission.hold()
                try:
                    hold.take(size)
                except Overloaded:
                    refused += 1
                    heapq.heappush(self.retrying, (self.clock.now + 1.0, size))
                    continue
                admitted += 1
                self.admitted[size] = self.admitted.get(size, 0) + 1
                self._order += 1
                answer = (self.clock.now + service(), self._order, hold, self.admission.work_started(), size)
                heapq.heappush(self.working, answer)
            self.clock.now = min([end] + [w[0] for w in self.working[:1]] + [r[0] for r in self.retrying[:1]])
            while self.working and self.working[0][0] <= self.clock.now:
                _, _, hold, started, size = heapq.heappop(self.working)
                self.admission.work_ended(size, started)
                hold.__exit__(None, None, None)
                self.ready.append(size)
        return admitted, refused


def test_after_a_stall_the_limit_recovers_once_answers_are_fast_again() -> None:
    # 16 senders, requests of 1 MiB answered in 0.5 s; then a 7 s stall (a checkpoint). Once answers
    # are fast again, intake must again let the senders in together, not one at a time for good.
    clock = Clock()
    admission = Admission(max_bytes=64 * MIB, target_wait=5.0, clock=clock)
    senders = Senders(admission, clock, [MIB] * 16)
    before = senders.run(20, lambda: 0.5)
    assert before == (640, 0)
    senders.run(8, lambda: 7.0)
    assert admission.limit < 4 * MIB  # the stall was measured: fewer requests at once
    senders.run(20, lambda: 0.5)  # recovering
    admitted, refused = senders.run(20, lambda: 0.5)
    assert admission.limit >= 16 * MIB
    assert (admitted, refused) == before


def test_a_large_request_gets_in_between_a_stream_of_small_ones() -> None:
    # Twelve senders of 1 MiB keep a 10 MiB intake full; a sender of 6 MiB, refused, must not be
    # refused on every retry while small requests take each freed MiB before it comes back.
    clock = Clock()
    admission = Admission(max_bytes=10 * MIB, target_wait=0, clock=clock)
    senders = Senders(admission, clock, [MIB] * 12 + [6 * MIB])
    senders.run(30, lambda: 0.5)
    assert senders.admitted[MIB] > 200  # the small ones still go through
    assert senders.admitted.get(6 * MIB, 0) >= 5
