"""Embedded mode: spans go straight into a local DuckDB file, no server in between.

The path is the collector's, minus the network: the SDK's spans are encoded
into an ``ExportTraceServiceRequest`` with the OTLP exporters' own encoder,
decoded by ``agentlog.proto.decode_request`` exactly as the receivers do, and
committed with ``agentlog.store.insert_spans`` (spans, live-status markers
and run roll-ups in one transaction). So a run stored in embedded mode is
the same rows a collector would have stored.

Why not the collector's group-commit ``SpanWriter``: it exists to merge many
concurrent requests into one transaction and to push back on them from an
event loop. Here there is exactly one producer, the batch processor's
thread, which already hands over a batch at a time and never two at once;
its bounded queue is the back-pressure. So each export is one transaction,
committed before ``export`` returns (acknowledged means committed, as in
the collector), with no event loop or second thread to hop through. Every
``compact_every`` exports, and at shutdown, it folds the run roll-ups'
partials (``agentlog.store.compact_runs``) as the collector's writer does.

The database must have no other writer: DuckDB lets one process open a file,
so a file that ``agentlog serve`` holds is refused when ``configure()`` runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import duckdb
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_request
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.store import Database, commit_spans, compact_runs, last_commit_seq
from agentlog.store.rollups import DEFAULT_COMPACT_EVERY

log = logging.getLogger(__name__)

LOCAL_TENANT = "default"
"""The tenant a local collector with no API keys stores spans under, so the API finds them."""


class DuckDBSpanExporter(SpanExporter):
    """Commits each exported batch to ``database`` in one transaction."""

    def __init__(
        self,
        database: Database,
        *,
        owns_database: bool,
        tenant_id: str = LOCAL_TENANT,
        max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        compact_every: int = DEFAULT_COMPACT_EVERY,
        conventions: Conventions = BUILT_IN,
    ) -> None:
        self.database = database
        self._conventions = conventions
        self._owns_database = owns_database
        self._tenant_id = tenant_id
        self._max_attribute_length = max_attribute_length
        # One cursor, used by whichever thread exports (the batch thread, or a
        # caller of force_flush), one at a time.
        self._lock = threading.Lock()
        self._cursor = database.cursor()
        self._commit_seq = last_commit_seq(self._cursor)
        self._closed = False
        self._compact_every = compact_every
        self._uncompacted = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        body = encode_spans(spans).SerializeToString()
        decoded = decode_request(body, "protobuf", self._tenant_id, self._max_attribute_length, self._conventions)
        if decoded.rejected:
            log.warning("agentlog: %s", decoded.message)
        table = decoded.table
        if table is None:
            return SpanExportResult.SUCCESS
        with self._lock:
            if self._closed:
                return SpanExportResult.FAILURE
            try:
                commit_spans(self._cursor, [table], self._commit_seq + 1)
            except duckdb.Error:
                log.exception("agentlog: committing %d spans to %s failed", table.num_rows, self.database.path)
                return SpanExportResult.FAILURE
            self._commit_seq += 1
            self._uncompacted += 1
            if self._uncompacted >= self._compact_every:
                self._compact()
        return SpanExportResult.SUCCESS

    def _compact(self) -> None:
        """Fold the run roll-ups' partials (with the lock held); a failure loses nothing, the next one retries."""
        self._uncompacted = 0
        try:
            compact_runs(self._cursor)
        except duckdb.Error:
            log.warning("agentlog: compacting the run roll-ups in %s failed", self.database.path, exc_info=True)

    def shutdown(self) -> None:
        """Close the cursor; close (checkpoint) the database too if ``configure()`` opened it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._compact()
            self._cursor.close()
            if self._owns_database:
                self.database.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every export has committed before it returned
