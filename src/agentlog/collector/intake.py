"""What both receivers do with a parsed request: decode, queue, wait for the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlog.collector.writer import SpanWriter
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_spans
from agentlog.store import to_arrow

DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What the response's ``partial_success`` reports."""

    accepted: int
    rejected: int
    message: str


class Intake:
    """Decodes export requests and hands their rows to the writer."""

    def __init__(self, writer: SpanWriter, *, max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH) -> None:
        self._writer = writer
        self._max_attribute_length = max_attribute_length

    async def export(self, pb_request: Any, tenant_id: str = DEFAULT_TENANT) -> ExportResult:
        """Store the spans of ``pb_request``; returns once they are committed."""
        batch = decode_spans(pb_request, self._max_attribute_length)
        if len(batch):
            await self._writer.write(to_arrow(batch, tenant_id))
        return ExportResult(len(batch), batch.rejected, batch.rejection_message)
