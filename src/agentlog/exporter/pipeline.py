"""``configure()``: a TracerProvider, the live-status and batch processors, and the exporter.

::

    TracerProvider (resource: service.name)
    ├── PendingSpanProcessor   on start: the span's live-status marker to the processor below
    └── BoundedBatchProcessor  on end: the span into the queue; markers beside it; counts drops
        └── BatchSpanProcessor (SDK)   its own thread, batches, bounded queue
            └── GuardedExporter        adds waiting markers, skips stale ones; never raises; counts failures
                └── OTLP gRPC / HTTP exporter (official), or DuckDBSpanExporter (embedded)

Calling ``configure()`` again replaces the pipeline: the new one takes every
span that starts from then on (through the global provider too), and the
old one is shut down, which sends what it had queued. Spans still open
under the old pipeline at that moment are lost; configure once, at start-up,
and this never matters.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from agentlog.exporter.batching import BoundedBatchProcessor, ExportCounts
from agentlog.exporter.global_provider import point_global_provider_at
from agentlog.exporter.pending import PendingSpanProcessor
from agentlog.exporter.reachability import address, why_unreachable
from agentlog.exporter.settings import ExporterSettings, load_settings
from agentlog.exporter.transport import otlp_exporter

if TYPE_CHECKING:
    from agentlog.store import Database

log = logging.getLogger(__name__)

TRACER_NAME = "agentlog"
DEFAULT_FLUSH_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 0.25
"""At most this long (and a quarter of the shutdown timeout) to try a connection and say why spans were lost."""
ABORT_GRACE_S = 0.05
"""How long, out of the probe's time, an aborted exporter gets to fail what it holds (a gRPC export ends at once)."""


class Pipeline:
    """What ``configure()`` set up: flush it, shut it down, read its counts, and in embedded mode its database."""

    def __init__(
        self,
        settings: ExporterSettings,
        provider: TracerProvider,
        batch: BoundedBatchProcessor,
        database: Database | None,
        destination: str,
        endpoint: str | None = None,
    ) -> None:
        self.settings = settings
        self.destination = destination
        """Where spans go, for messages: the endpoint, the database, or the exporter's class."""
        self._endpoint = endpoint
        """The OTLP collector's URL, when spans go to one (not embedded, not an exporter of the agent's own)."""
        self.provider = provider
        """The SDK ``TracerProvider``, for instrumentations that take one explicitly."""
        self.database = database
        """Embedded mode: the ``agentlog.store.Database`` spans are committed to (query it with a cursor)."""
        self.tracer = provider.get_tracer(TRACER_NAME)
        self._batch = batch
        self._lock = threading.Lock()
        self._shut_down = False

    def counts(self) -> ExportCounts:
        """Spans exported, dropped (queue full) and failed so far."""
        return self._batch.counts()

    def force_flush(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> bool:
        """Export everything recorded so far; True if done within ``timeout_s`` (it carries on after)."""
        done = threading.Event()
        flushed: list[bool] = []

        def flush() -> None:
            flushed.append(self.provider.force_flush())
            done.set()

        # The SDK's flush ignores its timeout and waits out every retry of a
        # collector that is down; a thread of its own keeps the caller's wait bounded.
        threading.Thread(target=flush, name="agentlog-flush", daemon=True).start()
        return done.wait(timeout_s) and all(flushed)

    def shutdown(self, timeout_s: float | None = None) -> None:
        """Send what is queued (for at most ``timeout_s``, default ``shutdown_timeout_s``), then stop.

        The bound holds whatever the collector does, over gRPC and HTTP alike: 0
        sends nothing more and returns at once (a negative timeout counts as 0).
        Runs at interpreter exit too. What could not be delivered is logged in one
        warning saying how many spans, where to, after how long, and why
        (``connection refused``, say). In embedded mode it closes the database if
        ``configure()`` opened it. Calling it again does nothing.
        """
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        started = time.monotonic()
        atexit.unregister(self.shutdown)
        _forget(self)
        timeout = max(0.0, self.settings.shutdown_timeout_s if timeout_s is None else timeout_s)
        # The time to find out why, when it comes to that, is taken from the timeout, not added to it.
        probe_s = min(PROBE_TIMEOUT_S, timeout / 4) if self._endpoint is not None else 0.0
        failed_before = self.counts().failed
        self._batch.report_failures_later()
        done = threading.Event()

        def shut_down() -> None:
            try:
                self.provider.shutdown()
            finally:
                done.set()

        # The SDK's shutdown waits for an export in flight, and an HTTP request to a
        # collector that accepts but never answers is not interrupted by shutting
        # the exporter down: a thread of its own keeps the caller's wait bounded.
        threading.Thread(target=shut_down, name="agentlog-shutdown", daemon=True).start()
        deadline = started + timeout
        gave_up = not done.wait(timeout - probe_s)
        if gave_up:
            # Stop the exporter's retries and fail what is still queued; what is in flight is left to finish alone.
            self._batch.abort()
            done.wait(min(ABORT_GRACE_S, probe_s))
        # Past the bound, what is queued or in flight is lost too: the process may exit now.
        failed = (self.counts().failed if done.is_set() else self._batch.undelivered()) - failed_before
        if failed:
            where = address(self._endpoint) if self._endpoint is not None else self.destination
            why = self._why_undelivered(gave_up, min(probe_s, deadline - time.monotonic()))
            within = f" within {round(time.monotonic() - started, 1):g} s" if gave_up else ""
            log.warning("agentlog: could not deliver %d spans to %s%s: %s", failed, where, within, why)
        log.debug("agentlog: pipeline to %s shut down: %s", self.destination, self.counts())

    def _why_undelivered(self, gave_up: bool, probe_s: float) -> str:
        """Why exports failed at shutdown, in a few words."""
        if self._endpoint is not None:
            if probe_s <= 0 and gave_up:
                return "the collector did not take them in time"
            unreachable = why_unreachable(self._endpoint, probe_s) if probe_s > 0 else None
            if unreachable is not None:
                return unreachable
            if gave_up:
                return "the collector accepts connections but did not take the spans in time"
            return "the collector refused them (the OpenTelemetry exporter's log says why)"
        if gave_up:
            return "the exporter did not finish in time"
        return self._batch.last_failure or "the exporter reported failure"


def configure(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    api_key: str | None = None,
    timeout_s: float | None = None,
    database: str | os.PathLike[str] | Database | None = None,
    exporter: SpanExporter | None = None,
    pending_spans: bool | None = None,
    max_queue_size: int | None = None,
    max_export_batch_size: int | None = None,
    schedule_delay_ms: float | None = None,
    shutdown_timeout_s: float | None = None,
    environ: Mapping[str, str] | None = None,
    conventions: str | os.PathLike[str] | None = None,
) -> Pipeline:
    """Send this process's spans to an agentlog collector (or any OTLP endpoint), or into a DuckDB file.

    Args:
        service_name: the resource's ``service.name`` (env ``OTEL_SERVICE_NAME``).
        endpoint: the collector. gRPC: ``host:port`` or a URL (``https://`` for TLS);
            HTTP: the base URL, ``/v1/traces`` is added. Env ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``;
            default ``http://localhost:4317`` (gRPC) or ``http://localhost:4318`` (HTTP).
        protocol: ``"grpc"`` (default) or ``"http/protobuf"``. Env ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL``.
        headers: sent with every export, merged over ``OTEL_EXPORTER_OTLP_[TRACES_]HEADERS``.
        api_key: sent as ``Authorization: Bearer <key>`` (env ``AGENTLOG_API_KEY``).
        timeout_s: one export's deadline, retries included (env ``OTEL_EXPORTER_OTLP_TIMEOUT``, else 10).
        database: embedded mode: a DuckDB file path, ``":memory:"``, or an open ``agentlog.store.Database``;
            spans are committed to it directly and no collector is used.
        exporter: any OpenTelemetry ``SpanExporter`` instead of OTLP or DuckDB (the SDK's
            ``InMemorySpanExporter`` in an agent's own tests, say).
        pending_spans: send a live-status marker when a span starts, so a run shows as running
            before it ends (default on; env ``AGENTLOG_PENDING_SPANS=false`` turns it off).
        max_queue_size: spans waiting for export before new ones are dropped and counted (2048).
        max_export_batch_size: spans per export (512).
        schedule_delay_ms: how often queued spans are sent (1000).
        shutdown_timeout_s: how long shutdown and process exit may spend sending what is queued (5).
        environ: the environment to read instead of ``os.environ`` (tests).
        conventions: embedded mode: a TOML file of your own attribute keys, read before the built-in
            ones as ``agentlog serve --conventions`` reads it (env ``AGENTLOG_CONVENTIONS``; docs/conventions.md).

    Returns the ``Pipeline``. Raises ValueError for settings that cannot work,
    ``agentlog.errors.ConventionsError`` for a conventions file that cannot apply, and
    ``agentlog.errors.StoreError`` if the database cannot be opened; nothing after
    this call raises into the agent. Calling ``configure()`` again replaces the pipeline.
    """
    settings = load_settings(
        service_name=service_name,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        api_key=api_key,
        timeout_s=timeout_s,
        database=_database_name(database),
        pending_spans=pending_spans,
        max_queue_size=max_queue_size,
        max_export_batch_size=max_export_batch_size,
        schedule_delay_ms=schedule_delay_ms,
        shutdown_timeout_s=shutdown_timeout_s,
        environ=environ,
        conventions=os.fspath(conventions) if conventions is not None else None,
    )
    if conventions is not None and database is None:
        raise ValueError("conventions apply in embedded mode (database=...); a collector reads its own --conventions")
    if exporter is not None and database is not None:
        raise ValueError("give either database (embedded mode) or exporter, not both")
    chosen, opened = (exporter, None) if exporter is not None else _exporter(settings, database)
    resource = Resource.create({"service.name": settings.service_name} if settings.service_name else {})
    # The SDK's own exit hook would wait out a down collector's retries; Pipeline.shutdown is bounded.
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    batch = BoundedBatchProcessor(
        chosen,
        max_queue_size=settings.max_queue_size,
        max_export_batch_size=settings.max_export_batch_size,
        schedule_delay_ms=settings.schedule_delay_ms,
    )
    if settings.pending_spans:
        provider.add_span_processor(PendingSpanProcessor(batch.announce))
    provider.add_span_processor(batch)
    destination = type(exporter).__name__ if exporter is not None else settings.destination
    endpoint = settings.endpoint if exporter is None and database is None else None
    pipeline = Pipeline(settings, provider, batch, opened, destination, endpoint)
    _install(pipeline)
    return pipeline


def current_pipeline() -> Pipeline | None:
    """The pipeline the last ``configure()`` set up, unless it has been shut down."""
    return _current


def flush(timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> bool:
    """Export every span recorded so far; True once done, False if not within ``timeout_s`` seconds.

    What is not done by then carries on in the background. True when
    ``configure()`` has not run (there is nothing to send). Never raises.
    """
    pipeline = _current
    return pipeline.force_flush(timeout_s) if pipeline is not None else True


def shutdown(timeout_s: float | None = None) -> None:
    """Send what is queued, for at most ``timeout_s`` seconds (default ``shutdown_timeout_s``, 5), then stop.

    0 (or less) sends nothing more and returns at once. What could not be sent
    by then is counted and logged. Spans started afterwards are no-ops until
    ``configure()`` runs again. agentlog does this at interpreter exit by
    itself; call it to end earlier (a worker that is about to be frozen, say).
    Calling it again does nothing. Never raises.
    """
    pipeline = _current
    if pipeline is not None:
        pipeline.shutdown(timeout_s)


def current_tracer() -> trace.Tracer:
    """agentlog's tracer: the current pipeline's, else the global provider's (the app's own OTel setup)."""
    pipeline = _current
    return pipeline.tracer if pipeline is not None else _fallback_tracer


_current: Pipeline | None = None
_current_lock = threading.Lock()
_fallback_tracer = trace.get_tracer(TRACER_NAME)


def _install(pipeline: Pipeline) -> None:
    global _current
    with _current_lock:
        previous, _current = _current, pipeline
        point_global_provider_at(pipeline)
    atexit.register(pipeline.shutdown)
    log.info("agentlog: exporting spans to %s", pipeline.destination)
    if previous is not None:
        previous.shutdown()


def _forget(pipeline: Pipeline) -> None:
    global _current  # noqa: PLW0603
    with _current_lock:
        if _current is pipeline:
            _current = None
            point_global_provider_at(None)


def _database_name(database: str | os.PathLike[str] | Database | None) -> str | None:
    if database is None:
        return None
    if isinstance(database, str | os.PathLike):
        return os.fspath(database)
    return database.path


def _exporter(
    settings: ExporterSettings, database: str | os.PathLike[str] | Database | None
) -> tuple[SpanExporter, Database | None]:
    if database is None:
        return otlp_exporter(settings), None
    # Embedded mode only: DuckDB, Arrow and the decoder are not loaded otherwise.
    from agentlog.exporter.embedded import DuckDBSpanExporter  # noqa: PLC0415
    from agentlog.proto.conventions import BUILT_IN  # noqa: PLC0415
    from agentlog.proto.conventions_file import load_conventions  # noqa: PLC0415
    from agentlog.store import Database  # noqa: PLC0415

    conventions = load_conventions(settings.conventions) if settings.conventions else BUILT_IN  # before the file
    if isinstance(database, Database):
        return DuckDBSpanExporter(database, owns_database=False, conventions=conventions), database
    opened = Database.open(Path(os.fspath(database)))
    return DuckDBSpanExporter(opened, owns_database=True, conventions=conventions), opened
