"""The SDK's batch span processor behind a bound that counts what it drops, and an exporter that never raises.

``BatchSpanProcessor`` already keeps a bounded queue and exports from its
own thread, so a slow or absent collector never blocks the agent. What it
does not do is tell anyone how much it dropped (its queue silently pushes
out the oldest span). ``BoundedBatchProcessor`` admits a span only while
fewer than ``max_queue_size`` spans and markers are waiting; past that it
counts the span as dropped and says so in the log, at most once a minute.
The SDK's queue has the same size, so it never overflows on its own.

``GuardedExporter`` wraps the exporter that does the work (the official
OTLP exporter, or the embedded DuckDB one): it adds the waiting live-status
markers to each batch and leaves out those whose span has ended, turns any
exception into a failed export, and counts failed spans and logs them,
rate-limited.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from agentlog.exporter.pending import PendingMarker
from agentlog.exporter.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportCounts:
    """What became of the spans (and live-status markers) recorded so far."""

    exported: int
    """Accepted by the collector, or committed to the embedded database."""
    dropped: int
    """Never sent: the queue was full (the collector is down or slow) or the pipeline had shut down."""
    failed: int
    """Sent, but the export failed after the OTLP exporter's own retries."""

    @property
    def lost(self) -> int:
        """Spans that will never be stored: dropped plus failed."""
        return self.dropped + self.failed


class BoundedBatchProcessor(SpanProcessor):
    """A ``BatchSpanProcessor`` that admits at most ``max_queue_size`` waiting spans and counts the rest.

    Live-status markers (``announce``) wait beside the SDK's queue, and one of
    them in it: that one makes sure an export comes, and each export takes the
    others along. On the agent's thread a marker is then one append to a
    deque; through the SDK's queue it cost several times that, and together
    with building it there, a third more per node (bench/exporter.py).
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_ms: float,
    ) -> None:
        self._max_queue_size = max_queue_size
        self._max_markers_per_export = max_export_batch_size
        self._waiting = 0
        self._closed = False
        self._lock = threading.Lock()
        self._announced: deque[Span] = deque()
        self._queued_marker: PendingMarker | None = None
        """The live-status marker in the SDK's queue, if one is: it brings the next export."""
        self._drops = RateLimitedLog(
            log, "agentlog dropped spans: its export queue is full (is the collector down or slow?)"
        )
        self._exporter = GuardedExporter(exporter, take_markers=self._take_markers)
        self._batch = BatchSpanProcessor(
            self._exporter,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_ms,
            max_export_batch_size=max_export_batch_size,
        )
        if hasattr(os, "register_at_fork"):
            # The SDK empties its queue in a forked child; the count of what waits there must follow.
            reset = weakref.WeakMethod(self._reset_after_fork)

            def after_in_child() -> None:
                method = reset()
                if method is not None:
                    method()

            os.register_at_fork(after_in_child=after_in_child)

    def on_end(self, span: ReadableSpan) -> None:
        """Queue ``span`` for export, or count it as dropped when the queue is full. Never blocks."""
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return
        with self._lock:
            admitted = self._admit()
        if admitted:
            self._batch.on_end(span)
        else:
            self._drops.record()

    def announce(self, span: Span) -> None:
        """Queue the live-status marker of ``span``, which has just started. Never blocks.

        Only the first marker since the last export is made now; the others are
        made on the export thread, and only for spans still running by then.
        """
        with self._lock:
            admitted = self._admit()
            marker = PendingMarker(span) if admitted and self._queued_marker is None else None
            if marker is not None:
                self._queued_marker = marker
            elif admitted:
                self._announced.append(span)
        if marker is not None:
            self._batch.on_end(marker)
        elif not admitted:
            self._drops.record()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batch.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Export everything queued (see ``abort`` for a time bound), then shut the exporter down."""
        with self._lock:
            self._closed = True
        self._batch.shutdown()  # type: ignore[no-untyped-call]  # untyped in the SDK

    def abort(self) -> None:
        """Give up on the collector: stop retries in progress and fail what is still queued, at once."""
        self._exporter.abort()

    def undelivered(self) -> int:
        """Spans failed so far, or still queued or in an export that has not returned.

        Live-status markers of spans that have ended are left out (they will not be sent).
        """
        with self._lock:
            waiting = self._waiting - sum(1 for span in self._announced if span.end_time is not None)
            queued = self._queued_marker
            if queued is not None and queued.superseded:
                waiting -= 1
        return max(0, waiting) + self._exporter.failed_or_in_flight()

    def report_failures_later(self) -> None:
        """From now on count failed exports without logging them: the caller reports them (shutdown, in one line)."""
        self._exporter.quiet = True

    @property
    def last_failure(self) -> str:
        """What the last failed export said (the exception, or that the exporter reported failure); "" if none."""
        return self._exporter.last_failure

    def counts(self) -> ExportCounts:
        return ExportCounts(self._exporter.exported, self._drops.total, self._exporter.failed)

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._waiting = 0
        self._announced.clear()
        self._queued_marker = None

    def _admit(self) -> bool:
        """Under the lock: is there room for one more? If so it is taken."""
        if self._closed or self._waiting >= self._max_queue_size:
            return False
        self._waiting += 1
        return True

    def _take_markers(self, batch_size: int) -> list[PendingMarker]:
        """On the export thread, for a batch of ``batch_size``: the waiting markers whose spans still run."""
        with self._lock:
            # Past shutdown there is no next export to wait for: take them all.
            limit = len(self._announced) if self._closed else self._max_markers_per_export
            count = min(len(self._announced), limit)
            taken = [self._announced.popleft() for _ in range(count)]
            self._waiting -= batch_size + count
            # More than one request holds: one of the rest goes into the queue to bring the next export.
            relay = PendingMarker(self._announced.popleft()) if self._announced else None
            self._queued_marker = relay
        if relay is not None:
            self._batch.on_end(relay)
        return [PendingMarker(span) for span in taken if span.end_time is None]


class GuardedExporter(SpanExporter):
    """Wraps the exporter that does the work; never raises, counts and logs what fails."""

    def __init__(self, inner: SpanExporter, take_markers: Callable[[int], list[PendingMarker]]) -> None:
        self._inner = inner
        self._take_markers = take_markers
        self._aborted = False
        self._shut_down = False
        self._shutdown_lock = threading.Lock()
        self._failures = RateLimitedLog(log, "agentlog could not export spans")
        self.exported = 0
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.quiet = False
        """True: failures are counted, not logged (see ``BoundedBatchProcessor.report_failures_later``)."""
        self.last_failure = ""

    @property
    def failed(self) -> int:
        return self._failures.total

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        current: list[ReadableSpan] = list(self._take_markers(len(spans)))
        current.extend(span for span in spans if not (isinstance(span, PendingMarker) and span.superseded))
        if not current:
            return SpanExportResult.SUCCESS
        if self._aborted:
            self._failed(len(current), "shut down before they could be sent")
            return SpanExportResult.FAILURE
        with self._count_lock:
            self._in_flight = len(current)  # one export at a time: the SDK's worker thread
        try:
            result = self._inner.export(current)
            detail = "the exporter reported failure (its own log says why)"
        except Exception as error:  # noqa: BLE001 - counted and logged below, rate-limited
            result, detail = SpanExportResult.FAILURE, f"{type(error).__name__}: {error}"
        with self._count_lock:  # counted and no longer in flight at once, for failed_or_in_flight
            if result is SpanExportResult.SUCCESS:
                self.exported += len(current)
            else:
                self._failed(len(current), detail)
            self._in_flight = 0
        return result

    def failed_or_in_flight(self) -> int:
        """Spans failed so far plus those in the export under way (not returned yet)."""
        with self._count_lock:
            return self._failures.total + self._in_flight

    def _failed(self, count: int, detail: str) -> None:
        if not self._aborted:  # past the abort, the cause is the abort's, not this
            self.last_failure = detail
        if self.quiet:
            self._failures.count(count)
        else:
            self._failures.record(count, detail)

    def abort(self) -> None:
        self._aborted = True
        self.shutdown()  # the OTLP exporters end a retry's back-off wait when shut down

    def shutdown(self) -> None:
        with self._shutdown_lock:
            if self._shut_down:
                return
            self._shut_down = True
        try:
            self._inner.shutdown()
        except Exception:
            log.exception("agentlog: shutting down the span exporter failed")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
