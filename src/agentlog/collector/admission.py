"""What intake lets in: the bytes of the requests in flight, bounded by memory and by time.

Every export request holds its bytes from the moment they arrive until it is
answered: its body as it comes off the wire, what the body inflates to, and
all of it while the request waits for a decoder (a worker process gets a copy)
and for its commit. A request whose next bytes would take the total past the
limit is refused at once with a retryable ``Overloaded`` (HTTP 503 with
Retry-After, gRPC UNAVAILABLE with RetryInfo), before the rest of its body is
read or inflated.

The limit is the smaller of two bounds:

- memory: ``max_bytes`` (``AGENTLOG_MAX_INTAKE_BYTES``);
- time: the bytes the server gets through in a third of ``target_wait``
  seconds (``AGENTLOG_TARGET_WAIT_SECONDS``) at its recent rate, so that
  even the slowest requests let in are answered within ``target_wait``
  (see ``TAIL_FACTOR``), well within a sender's timeout (the OTel SDKs'
  default is 10 s), rather than queued until the sender gives up on spans
  that are then stored but never acknowledged.

The rate is measured, not configured: the bytes of the requests answered
over the last ``RATE_WINDOW_SECONDS`` of busy time (time during which at
least one request was being decoded or committed; idle time does not count),
divided by that time. Group commits answer requests in bursts; a window of a
few seconds spans several. The rate is taken only from windows in which
requests overlapped (``MIN_OVERLAP`` at work on average): a lone sender's
requests show how long one request takes, not how much the server gets
through, and would make the bound far too tight. So until requests have
queued up for a few seconds, only the memory bound applies.

Between measurements the limit grows back: each request answered within
``target_wait / TAIL_FACTOR`` of its work starting, while the window shows too
little overlap to measure, raises the limit by its own size (up to
``max_bytes``). Without this a slow stretch (a checkpoint stall) could leave a
limit of about one request: requests could then never overlap enough to be
measured again, and intake would serve one request at a time for good. With it,
fast answers open the limit until requests overlap, and the rate measured then
takes over; it only lowers the limit when requests really wait long.

One request always gets in when no other holds bytes: the per-request limits
bound it, and it must be able to get in.

A large request is not starved by a stream of small ones. When a request is
refused, intake keeps room for it (for the largest refused, a claim) until its
sender comes back after the Retry-After it was given, plus a second: meanwhile
a new request smaller than the claim gets in only if it leaves the claimed room
free. Without this, steady small traffic that keeps intake near its limit would
refuse a large request on every retry. The claim ends when a request as large
gets in, or when it runs out (its sender gave up).

Used from the event loop's thread only (both receivers run on it), so there is
no lock; the clock is a parameter, so tests can drive time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncio import Future

from agentlog.errors import Overloaded

DEFAULT_MAX_INTAKE_BYTES = 64 * 1024 * 1024
"""Bytes of requests in flight, all together. With the copies made on the way (the one sent to a
decode worker, the rows decoded), intake's share of the server's memory stays near twice this,
well under the 512 MiB the whole server aims at. One request of the largest size still gets in alone."""

DEFAULT_TARGET_WAIT_SECONDS = 5.0
"""Work a new request may find ahead of it: half the OTel SDKs' default export timeout."""

RATE_WINDOW_SECONDS = 3.0
"""Busy time the rate is measured over: several group commits, and recent enough to follow a change."""

MIN_OVERLAP = 2.0
"""Requests at work, on average over a window, for the window to say how fast the server goes."""

TAIL_FACTOR = 3.0
"""How much longer than the average the slowest requests wait: intake lets in what the server gets
through in ``target_wait / TAIL_FACTOR``. Requests also wait for the transaction in progress, and
commits stall now and then (checkpoints, a busy machine); measured under overload, the slowest
waited two to three times the average."""

MIN_RETRY_AFTER_SECONDS = 1.0


class Admission:
    """The bytes of requests in flight, their limit, and the measured rate behind it."""

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_INTAKE_BYTES,
        target_wait: float = DEFAULT_TARGET_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``target_wait`` 0 turns the time bound off (memory alone bounds intake)."""
        self.max_bytes = max_bytes
        self.target_wait = target_wait
        self._clock = clock
        self.in_flight = 0
        """Bytes held by the requests in flight."""
        self.limit = max_bytes
        """What ``in_flight`` may reach: ``max_bytes``, or less once the rate says so."""
        self.rate: float | None = None
        """Bytes decoded and committed per busy second, once measured."""
        self._working = 0
        self._since = clock()
        # Running totals, and their values as each request was answered (oldest first) for
        # the rate's window: (busy seconds, integral of requests at work over them, bytes answered).
        self._busy = 0.0
        self._overlap = 0.0
        self._done = 0
        self._marks: deque[tuple[float, float, int]] = deque()
        # The room kept for a refused request, and until when (see the module's docstring).
        self._claim = 0
        self._claim_until = 0.0

    def hold(self) -> Hold:
        """A new request's hold on intake: a context manager that gives its bytes back on exit."""
        return Hold(self)

    def work_started(self) -> float:
        """A request's decoding and commit begin (its body is all there); the time, for ``work_ended``."""
        self._tick()
        self._working += 1
        return self._since

    def work_ended(self, size: int, started: float) -> None:
        """A request of ``size`` bytes, whose work began at ``started``, was decoded and committed,
        or failed on the way."""
        self._tick()
        self._working -= 1
        self._done += size
        marks = self._marks
        marks.append((self._busy, self._overlap, self._done))
        while len(marks) > 1 and marks[1][0] <= self._busy - RATE_WINDOW_SECONDS:
            marks.popleft()  # marks[0] stays the newest mark a whole window back
        busy, overlap, done = marks[0]
        window = self._busy - busy
        if window >= RATE_WINDOW_SECONDS and self._overlap - overlap >= MIN_OVERLAP * window:
            self._measured((self._done - done) / window)
        elif self.target_wait > 0 and self._since - started <= self.target_wait / TAIL_FACTOR:
            self.limit = min(self.max_bytes, self.limit + size)  # answered fast: room for one more like it

    def _tick(self) -> None:
        now = self._clock()
        if self._working:
            self._busy += now - self._since
            self._overlap += self._working * (now - self._since)
        self._since = now

    def _measured(self, rate: float) -> None:
        self.rate = rate
        if self.target_wait > 0 and rate > 0:
            self.limit = min(self.max_bytes, round(rate * self.target_wait / TAIL_FACTOR))

    def _take(self, hold: Hold, size: int) -> None:
        total, needed = self.in_flight + size, hold.held + size
        if total > self._room(hold, needed) and self.in_flight > hold.held:  # others hold bytes: wait a turn
            self._claim_room(needed)
            raise self._refusal()
        if needed >= self._claim:
            self._claim = 0  # the claim is met: its sender, or one as large, got in
        self.in_flight = total
        hold.held += size

    def _room(self, hold: Hold, needed: int) -> float:
        """What ``in_flight`` may reach with this take: the limit, less the claimed room for a request
        that is only starting and smaller than the claim (a large request refused a moment ago)."""
        if self._claim and not hold.held and needed < self._claim:
            if self._clock() < self._claim_until:
                return self.limit - self._claim
            self._claim = 0  # its sender did not come back
        return self.limit

    def _claim_room(self, needed: int) -> None:
        """Keep room for a refused request (the largest), until it comes back after its Retry-After."""
        if needed >= self._claim:
            self._claim = needed
            self._claim_until = self._clock() + self.retry_after() + MIN_RETRY_AFTER_SECONDS

    def _refusal(self) -> Overloaded:
        if not self.rate or self.limit == self.max_bytes:
            message = (
                f"intake is full: {self.in_flight} bytes of requests in flight, "
                f"the limit is {self.max_bytes}; retry later"
            )
        else:
            message = (
                f"intake is busy: the requests in flight need about {self.in_flight / self.rate:.1f} s to "
                f"commit, as much as lets each be answered within {self.target_wait:g} s; retry later"
            )
        return Overloaded(message, retry_after=self.retry_after())

    def retry_after(self) -> float:
        """Seconds a refused sender should wait: until the work in flight is done, by the rate,
        within [1 s, the target wait]."""
        if not self.rate:
            return MIN_RETRY_AFTER_SECONDS
        return max(MIN_RETRY_AFTER_SECONDS, min(self.in_flight / self.rate, self.target_wait))


class Hold:
    """One request's bytes in flight. ``take(n)`` adds ``n`` or raises ``Overloaded``; leaving the
    ``with`` block gives them all back, however the request ended (or, after ``keep_until``, once
    the request's work has ended too, if that is later)."""

    __slots__ = ("_admission", "_work", "held")

    def __init__(self, admission: Admission) -> None:
        self._admission = admission
        self._work: Future[Any] | None = None
        self.held = 0

    def take(self, size: int) -> None:
        self._admission._take(self, size)

    def keep_until(self, work: Future[Any]) -> None:
        """Keep the bytes until ``work`` is done as well. A request whose caller stops waiting (a
        gRPC deadline cancels its handler) still has its data in a decoder and in the writer's
        queue until its work ends: the bytes stay counted until then."""
        self._work = work

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._work is not None and not self._work.done():
            self._work.add_done_callback(lambda _: self._release())
        else:
            self._release()

    def _release(self) -> None:
        self._admission.in_flight -= self.held
        self.held = 0
