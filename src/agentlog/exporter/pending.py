"""Live status: a marker span sent when a span starts, so a run shows as running before it ends.

The marker is agentlog's convention (``proto/conventions.py``): a span with
the same trace and span ids as the span it announces, starting and ending at
that span's start, with the attributes known at start and
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
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from agentlog.exporter import semconv as k
from agentlog.exporter.ratelimit import RateLimitedLog

log = logging.getLogger(__name__)


class PendingMarker(ReadableSpan):
    """The live-status marker of ``announced``: its ids, name, start, and ``attributes`` (those known at start)."""

    def __init__(self, announced: Span, attributes: Mapping[str, Any]) -> None:
        start = announced.start_time
        super().__init__(
            name=announced.name,
            context=announced.context,
            parent=announced.parent,
            resource=announced.resource,
            attributes={**attributes, k.SPAN_TYPE: k.PENDING},
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


def start_attributes(span: Span) -> dict[str, Any]:
    """A copy of the attributes ``span`` has now (at its start)."""
    known = span.attributes
    # BoundedAttributes.copy() is a C-speed dict copy; dict(mapping) would go key by key.
    return known.copy() if hasattr(known, "copy") else dict(known or {})  # type: ignore[union-attr]


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
