"""Live status: a marker span sent when a span starts, so a run shows as running before it ends.

The marker is agentlog's convention (``proto/conventions.py``): a span with
the same trace and span ids as the span it announces, starting and ending at
that span's start, with the span's attributes as they are when the marker is
made (those known at its start, and any set since) and
``agentlog.span_type = "pending"``. The collector keeps it aside as a
pending span and drops it when the real span arrives.

``PendingSpanProcessor.on_start`` hands every started span to the batch
processor's ``announce``, which queues its marker with the spans and exports
it through the same exporter (see ``batching``). A marker whose span has
ended before its batch is exported has nothing left to announce (the span
itself is in that batch or an earlier one) and is left out: a node shorter
than the export interval costs a queue entry and nothing on the wire or in
the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agentlog.exporter import semconv as k
from agentlog.exporter.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


class PendingMarker(ReadableSpan):
    """The live-status marker of ``announced``: its ids, name, start, and attributes so far."""

    def __init__(self, announced: Span) -> None:
        start = announced.start_time
        attributes = attributes_so_far(announced)
        super().__init__(
            name=announced.name,
            context=announced.context,
            parent=announced.parent,
            resource=announced.resource,
            attributes=attributes,
            kind=announced.kind,
            start_time=start,
            end_time=start,
            instrumentation_scope=announced.instrumentation_scope,
        )
        self._announced = announced

    @property
    def superseded(self) -> bool:
        """True once the announced span has ended: it speaks for itself."""
        return self._announced.end_time is not None


def attributes_so_far(span: Span) -> dict[str, Any]:
    """A copy of the attributes ``span`` has now, marked as a marker's. Safe from any thread."""
    known = span.attributes
    # BoundedAttributes.copy() is one C-level dict copy (atomic under the GIL);
    # dict(mapping) would go key by key while the agent's thread may be adding some.
    attributes: dict[str, Any] = known.copy() if hasattr(known, "copy") else dict(known or {})  # type: ignore[union-attr]
    attributes[k.SPAN_TYPE] = k.PENDING
    return attributes


class PendingSpanProcessor(SpanProcessor):
    """Hands every sampled span that starts to ``announce``, which queues its marker."""

    def __init__(self, announce: Callable[[Span], None]) -> None:
        self._announce = announce
        self._failures = RateLimitedLog(log, "agentlog could not announce started spans", level=logging.ERROR)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.context is None or not span.context.trace_flags.sampled:
            return
        try:
            self._announce(span)
        except Exception as error:  # noqa: BLE001 - on the agent's thread; counted and logged, rate-limited
            self._failures.record(detail=repr(error))
