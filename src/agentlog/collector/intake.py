"""What both receivers do with a parsed request: decode, queue, wait for the commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlog.collector.writer import SpanWriter
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_spans
from agentlog.store import DEFAULT_TENANT, Keyring, to_arrow
from agentlog.store.keys import require


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What the response's ``partial_success`` reports."""

    accepted: int
    rejected: int
    message: str


class Intake:
    """Decodes export requests and hands their rows to the writer."""

    def __init__(
        self,
        writer: SpanWriter,
        *,
        keyring: Keyring | None = None,
        max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH,
    ) -> None:
        self._writer = writer
        self._keyring = keyring or Keyring()
        self._max_attribute_length = max_attribute_length

    def tenant_for(self, authorization: str | None) -> str:
        """The tenant a request writes into: its ingest key's, never anything in the spans.
        Unauthenticated / Forbidden when keys are configured and this one does not allow ingest."""
        principal = self._keyring.principal(authorization)
        require(principal, "ingest", "admin")
        return principal.tenant_id if principal else DEFAULT_TENANT

    async def export(self, pb_request: Any, tenant_id: str = DEFAULT_TENANT) -> ExportResult:
        """Store the spans of ``pb_request``; returns once they are committed."""
        batch = decode_spans(pb_request, self._max_attribute_length)
        if len(batch):
            await self._writer.write(to_arrow(batch, tenant_id))
        return ExportResult(len(batch), batch.rejected, batch.rejection_message)
