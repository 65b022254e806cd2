"""What both receivers do with a request's body: authenticate, admit, decode, queue, wait for the commit.

Traces and logs take the same way (``signal`` names which): one byte budget,
one decoder, one writer, one tenant rule.

A receiver opens ``intake.hold()`` as a request starts, adds the request's
bytes to it as they arrive (``Hold.take``, which refuses past the limit), and
keeps it open until the request is answered (its bytes stay counted until its
decode and commit have ended, if that is later): see ``agentlog.collector.admission``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agentlog.collector.admission import Admission, Hold
from agentlog.collector.decoding import Decoder
from agentlog.collector.writer import SpanWriter
from agentlog.proto import Encoding, Signal
from agentlog.store import DEFAULT_TENANT, Keyring
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
        decoder: Decoder | None = None,
        admission: Admission | None = None,
    ) -> None:
        self._writer = writer
        self._keyring = keyring or Keyring()
        self._decoder = decoder or Decoder()
        self.admission = admission or Admission()

    def hold(self) -> Hold:
        """A request's hold on intake's byte budget, open until it is answered."""
        return self.admission.hold()

    def tenant_for(self, authorization: str | None) -> str:
        """The tenant a request writes into: its ingest key's, never anything in the spans.
        Unauthenticated / Forbidden when keys are configured and this one does not allow ingest."""
        principal = self._keyring.principal(authorization)
        require(principal, "ingest", "admin")
        return principal.tenant_id if principal else DEFAULT_TENANT

    async def export(
        self,
        body: bytes,
        encoding: Encoding,
        tenant_id: str = DEFAULT_TENANT,
        hold: Hold | None = None,
        signal: Signal = "traces",
    ) -> ExportResult:
        """Store the spans (or, for ``signal="logs"``, the log records) of an export request's body;
        returns once they are committed.
        The time this takes is what intake's rate, and so its time bound, is measured on.

        Should the caller be cancelled (a gRPC deadline), the work still runs to its end, as a
        decode worker and the writer would go on with it anyway: the request counts as at work,
        and ``hold`` keeps its bytes, until then."""
        work = asyncio.ensure_future(self._export(body, encoding, tenant_id, signal))
        work.add_done_callback(_retrieve)
        if hold is not None:
            hold.keep_until(work)
        return await asyncio.shield(work)

    async def _export(self, body: bytes, encoding: Encoding, tenant_id: str, signal: Signal) -> ExportResult:
        started = self.admission.work_started()
        try:
            decoded = await self._decoder.decode(body, encoding, tenant_id, signal)
            accepted = 0
            if decoded.table is not None:
                accepted = decoded.table.num_rows
                await self._writer.write(decoded.table, signal)
        finally:
            self.admission.work_ended(len(body), started)
        return ExportResult(accepted, decoded.rejected, decoded.message)


def _retrieve(work: asyncio.Future[ExportResult]) -> None:
    """Take a failure nobody waits for any more (the caller was cancelled), so it is not reported as lost."""
    if not work.cancelled():
        work.exception()
