"""``ExportTraceServiceRequest`` -> span rows, column by column.

This is the one decoder both transports use: the gRPC receiver hands it the
message it parsed from protobuf bytes, the HTTP receiver the message it parsed
from protobuf or OTLP/JSON. It is pure: no I/O, no clock, no database.

Rows come out as parallel lists (one per column) because that is the shape a
vectorised insert wants; a span that cannot be stored (an invalid id, or a
time no reader could show: ``span_times``) is left out and counted in
``rejected``, so the rest of the request is still stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from agentlog.proto.anyvalue import JSONValue, attributes_to_python
from agentlog.proto.conventions import LOGFIRE_PENDING_PARENT, MESSAGE_EVENTS
from agentlog.proto.ids import (
    InvalidId,
    parent_span_id_to_int,
    parse_span_id_hex,
    span_id_to_int,
    trace_id_to_int,
)
from agentlog.proto.normalize import (
    CANONICAL_COLUMNS,
    STATUS_ERROR,
    Canonical,
    message_events,
    normalize,
    pending_target,
)
from agentlog.proto.times import SENT_END_TIME, InvalidTime, span_times

# How many rejection reasons a response repeats; the count is always exact.
MAX_REASONS = 5

MAX_CODE = 255
"""A span's kind and status code are stored in one byte; OTLP defines 0-5 and 0-2."""


class InvalidCode(ValueError):
    """A span kind or status code no stored column can hold."""


def check_codes(kind: int, status_code: int) -> None:
    """InvalidCode when ``kind`` or ``status_code`` is outside 0-255."""
    if not 0 <= kind <= MAX_CODE:
        raise InvalidCode(f"kind {kind} is not a span kind (0-{MAX_CODE})")
    if not 0 <= status_code <= MAX_CODE:
        raise InvalidCode(f"status code {status_code} is not a status code (0-{MAX_CODE})")


DEFAULT_MAX_ATTRIBUTE_LENGTH = 128 * 1024
"""Characters kept of one string attribute value: room for a long prompt, not a PDF."""


@dataclass(slots=True)
class SpanBatch:
    """Decoded spans of one request as parallel column lists (see ``SPAN_COLUMNS``)."""

    trace_id: list[int] = field(default_factory=list)
    span_id: list[int] = field(default_factory=list)
    parent_span_id: list[int | None] = field(default_factory=list)
    trace_state: list[str | None] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    start_time_unix_nano: list[int] = field(default_factory=list)
    end_time_unix_nano: list[int] = field(default_factory=list)
    status_code: list[int] = field(default_factory=list)
    status_message: list[str | None] = field(default_factory=list)
    service_name: list[str | None] = field(default_factory=list)
    resource_attributes: list[str] = field(default_factory=list)
    scope_name: list[str | None] = field(default_factory=list)
    scope_version: list[str | None] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)
    dropped_attributes_count: list[int] = field(default_factory=list)
    dropped_events_count: list[int] = field(default_factory=list)
    dropped_links_count: list[int] = field(default_factory=list)
    is_pending: list[bool] = field(default_factory=list)
    canonical: list[Canonical] = field(default_factory=list)
    """One ``Canonical`` row per span; ``canonical_columns()`` turns them into columns."""
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.span_id)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)

    def canonical_columns(self) -> dict[str, list[Any]]:
        """The canonical rows as columns, named as ``CANONICAL_COLUMNS``."""
        if not self.canonical:
            return {name: [] for name in CANONICAL_COLUMNS}
        return dict(zip(CANONICAL_COLUMNS, map(list, zip(*self.canonical, strict=True)), strict=True))

    @property
    def rejection_message(self) -> str:
        """What ``partial_success.error_message`` says; empty when nothing was rejected."""
        return rejection_message(self.rejected, self.reasons)


def rejection_message(rejected: int, reasons: list[str]) -> str:
    """``partial_success.error_message`` for ``rejected`` spans, the first of whose reasons are given."""
    if not rejected:
        return ""
    more = rejected - len(reasons)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{rejected} span(s) rejected: " + "; ".join(reasons) + tail


SPAN_COLUMNS: tuple[str, ...] = tuple(
    name for name in SpanBatch.__dataclass_fields__ if name not in ("rejected", "reasons", "canonical")
)
"""The columns of a batch as stored, in order, before the canonical ones."""


def _dumps(value: JSONValue) -> str:
    return orjson.dumps(value).decode()


def decode_spans(pb_request: Any, max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH) -> SpanBatch:
    """Every span of an ``ExportTraceServiceRequest`` as rows; invalid ones counted, not raised."""
    batch = SpanBatch()
    for pb_resource_spans in pb_request.resource_spans:
        resource = attributes_to_python(pb_resource_spans.resource.attributes, max_attribute_length)
        service = resource.get("service.name")
        resource_json = _dumps(resource)
        service_name = service if isinstance(service, str) else None
        for pb_scope_spans in pb_resource_spans.scope_spans:
            scope = pb_scope_spans.scope
            for pb_span in pb_scope_spans.spans:
                _append_span(
                    batch,
                    pb_span,
                    max_attribute_length,
                    service_name,
                    resource_json,
                    scope.name or None,
                    scope.version or None,
                )
    return batch


def _append_span(
    batch: SpanBatch,
    pb_span: Any,
    max_length: int,
    service_name: str | None,
    resource_json: str,
    scope_name: str | None,
    scope_version: str | None,
) -> None:
    attributes = attributes_to_python(pb_span.attributes, max_length)
    marker = pending_target(attributes)
    try:
        trace_id = trace_id_to_int(pb_span.trace_id)
        span_id = span_id_to_int(pb_span.span_id)
        parent = parent_span_id_to_int(pb_span.parent_span_id)
        if marker == "parent":  # logfire: the marker is a child of the span it announces
            span_id, parent = _logfire_marked_span(parent, attributes.get(LOGFIRE_PENDING_PARENT))
        start, end = span_times(pb_span.start_time_unix_nano, pb_span.end_time_unix_nano)
        check_codes(pb_span.kind, pb_span.status.code)
    except (InvalidId, InvalidTime, InvalidCode) as error:
        batch.reject(f"span {pb_span.name!r}: {error}")
        return
    if end != pb_span.end_time_unix_nano:  # stored as ending when it started; what was sent is kept
        attributes[SENT_END_TIME] = pb_span.end_time_unix_nano
    status = pb_span.status
    batch.canonical.append(
        normalize(
            pb_span.name,
            {**attributes, **_message_events(pb_span.events, max_length)} if pb_span.events else attributes,
            status.code,
            status.message,
            _exception(pb_span.events, max_length) if status.code == STATUS_ERROR and pb_span.events else None,
            start,
            max_length,
        )
    )
    batch.is_pending.append(marker is not None)
    batch.trace_id.append(trace_id)
    batch.span_id.append(span_id)
    batch.parent_span_id.append(parent)
    batch.trace_state.append(pb_span.trace_state or None)
    batch.flags.append(pb_span.flags)
    batch.name.append(pb_span.name)
    batch.kind.append(pb_span.kind)
    batch.start_time_unix_nano.append(start)
    batch.end_time_unix_nano.append(end)
    batch.status_code.append(status.code)
    batch.status_message.append(status.message or None)
    batch.service_name.append(service_name)
    batch.resource_attributes.append(resource_json)
    batch.scope_name.append(scope_name)
    batch.scope_version.append(scope_version)
    batch.attributes.append(_dumps(attributes))
    batch.events.append(_events_json(pb_span.events, max_length) if pb_span.events else None)
    batch.links.append(_links_json(pb_span.links, max_length) if pb_span.links else None)
    batch.dropped_attributes_count.append(pb_span.dropped_attributes_count)
    batch.dropped_events_count.append(pb_span.dropped_events_count)
    batch.dropped_links_count.append(pb_span.dropped_links_count)


def _events_json(pb_events: Any, max_length: int) -> str:
    return _dumps(
        [
            {
                "time_unix_nano": event.time_unix_nano,
                "name": event.name,
                "attributes": attributes_to_python(event.attributes, max_length),
                "dropped_attributes_count": event.dropped_attributes_count,
            }
            for event in pb_events
        ]
    )


def _links_json(pb_links: Any, max_length: int) -> str:
    return _dumps(
        [
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "trace_state": link.trace_state,
                "flags": link.flags,
                "attributes": attributes_to_python(link.attributes, max_length),
                "dropped_attributes_count": link.dropped_attributes_count,
            }
            for link in pb_links
        ]
    )


def _logfire_marked_span(marker_parent: int | None, pending_parent: JSONValue) -> tuple[int, int | None]:
    """(span id, parent id) of the span a logfire pending-span marker announces."""
    if marker_parent is None:
        raise InvalidId("a logfire pending span must have the span it announces as parent")
    parent = None
    if isinstance(pending_parent, str) and pending_parent.strip("0"):
        parent = parse_span_id_hex(pending_parent)
    return marker_parent, parent


def _message_events(pb_events: Any, max_length: int) -> dict[str, JSONValue]:
    """normalize.message_events of the span's events whose name lends messages (their attributes read only then)."""
    named = [
        (event.name, attributes_to_python(event.attributes, max_length))
        for event in pb_events
        if event.name in MESSAGE_EVENTS
    ]
    return message_events(named)


def _exception(pb_events: Any, max_length: int) -> dict[str, JSONValue] | None:
    for event in pb_events:
        if event.name == "exception":
            return attributes_to_python(event.attributes, max_length)
    return None
