"""``agentlog serve``: every listener on one event loop, and an orderly stop.

Start: open and migrate the database, start the writer, bind OTLP/gRPC and
OTLP/HTTP. Stop (SIGINT/SIGTERM): stop accepting, let in-flight requests
finish (each waits for its commit), commit what is queued, checkpoint, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import uvicorn

from agentlog import discovery
from agentlog.api.app import build_api_app
from agentlog.api.live import LiveFeed
from agentlog.collector.admission import MIN_RETRY_AFTER_SECONDS, Admission
from agentlog.collector.decoding import Decoder
from agentlog.collector.grpc_receiver import build_grpc_server
from agentlog.collector.http_receiver import ExportEndpoint, build_http_app
from agentlog.collector.intake import Intake
from agentlog.collector.retention import RetentionScheduler
from agentlog.collector.upkeep import LakeUpkeep
from agentlog.collector.writer import SpanWriter
from agentlog.errors import AgentlogError, DatabaseFailed
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.conventions_file import load_conventions
from agentlog.query import Reader
from agentlog.query.metrics import warm_up
from agentlog.settings import Settings
from agentlog.store import MEMORY, Database, Keyring, last_commit
from agentlog.store.lake import is_lake
from agentlog.store.schedules import Schedule

log = logging.getLogger(__name__)

GRACE_SECONDS = 10.0
"""How long in-flight requests get to finish on shutdown."""


class RefusedToServe(AgentlogError):
    """The settings would expose the server unsafely."""


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Running:
    """Where a started server listens; what tests and the CLI print. ``instance_id``: this start's own
    id, in its announcement files and its ``/healthz`` (``agentlog.discovery``)."""

    database: Database
    grpc_port: int
    http_port: int
    api_port: int
    instance_id: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (0: any free port), for uvicorn to serve on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not the default 0: accepted sockets inherit it, and asyncio
    # sets TCP_NODELAY only on sockets that say they are TCP. Without it, a
    # response written in two parts (head, body) waits out the client's delayed
    # ACK: 40 ms on every request but the first of a keep-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def check_exposure(settings: Settings, keyring: Keyring) -> None:
    """Refuse a non-loopback bind without API keys unless ``--insecure`` says so."""
    if not settings.loopback_only and not settings.insecure and not keyring.enabled:
        raise RefusedToServe(
            f"refusing to listen on {settings.host} without API keys: anyone who can reach it "
            "could write and read your runs. Bind 127.0.0.1, or pass --insecure if you mean it."
        )


async def serve(settings: Settings, on_ready: Callable[[Running], None] | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``Running.stop`` is set), shut down cleanly, return spans committed.

    ``settings.ingest`` False: the API alone (no OTLP ports, no writer): a read-only process on a lake."""
    conventions = load_conventions(settings.conventions) if settings.conventions else BUILT_IN  # before any file
    if settings.db == MEMORY or not (is_lake(settings.db) or Path(settings.db).exists()):
        check_exposure(settings, Keyring())  # a new database has no keys: refuse before creating it
    database = Database.open(
        settings.db, memory_limit=settings.memory_limit or None, data_path=settings.data_path or None
    )
    loop = asyncio.get_running_loop()
    cursor = database.cursor()
    feed = LiveFeed(last_commit(cursor), out_of_order=database.is_lake)
    keyring = Keyring.load(cursor)
    cursor.close()
    try:
        check_exposure(settings, keyring)
    except RefusedToServe:
        database.close()
        raise
    stop = asyncio.Event()

    def on_fatal(error: BaseException) -> None:  # on the writer thread: stop the server from its loop
        loop.call_soon_threadsafe(stop.set)

    ingest: _Ingest | None = None
    if settings.ingest:
        writer = SpanWriter(
            database,
            max_queued_spans=settings.max_queued_spans,
            max_batch_spans=settings.max_batch_spans,
            on_commit=lambda seq: _publish(loop, feed, seq),
            on_fatal=on_fatal,
        )
        writer.start()
        decoder = Decoder(settings.decode_workers, settings.max_attribute_length, conventions)
        admission = Admission(settings.max_intake_bytes, settings.target_wait_seconds)
        # On a lake every collector may run its upkeep (read-only processes write nothing): the lake's row
        # has one of them claim each pass.
        upkeep = (
            LakeUpkeep(database, settings.upkeep_defaults, memory_limit=settings.memory_limit or None)
            if database.is_lake
            else None
        )
        intake = Intake(writer, keyring=keyring, decoder=decoder, admission=admission)
        ingest = _Ingest(writer, decoder, intake, upkeep)
    try:
        await _serve_listeners(settings, database, ingest, feed, keyring, on_ready, stop, conventions)
    finally:
        # The writer's last commit happens in close(): only then is its failure, if any, known.
        failure = ingest.close() if ingest is not None else None
        database.close(checkpoint=failure is None)
    if failure is not None:
        raise DatabaseFailed(
            f"the database failed and agentlog stopped: {failure}. Everything acknowledged is in "
            f"{settings.db} (its WAL is replayed on the next start); restart agentlog."
        )
    return ingest.writer.committed_spans if ingest is not None else 0


@dataclass(frozen=True)
class _Ingest:
    """What receives OTLP: the writer, the decoder, and the intake in front of them."""

    writer: SpanWriter
    decoder: Decoder
    intake: Intake
    upkeep: LakeUpkeep | None = None

    def close(self) -> BaseException | None:
        """Stop the lake's upkeep (a pass under way is interrupted), commit what is queued and stop; the
        writer's failure, if it had one."""
        if self.upkeep is not None:
            self.upkeep.close()
        self.writer.close()
        self.decoder.close()
        log.info(
            "stopped: %d spans and %d log records committed in %d transactions",
            self.writer.committed_spans,
            self.writer.committed_log_records,
            self.writer.transactions,
        )
        return self.writer.failure


LAKE_POLL_SECONDS = 0.5
"""How often a process on a lake looks for commits other processes made (for the live feed)."""


async def _follow_lake(reader: Reader, feed: LiveFeed) -> None:
    """On a lake other processes commit too: publish the newest commit any of them made."""
    while True:
        try:
            feed.publish(await reader.read(last_commit))
        except (AgentlogError, duckdb.Error) as error:  # the catalog or storage away: try again later
            log.warning("looking for the lake's new commits failed: %s", error)
        await asyncio.sleep(LAKE_POLL_SECONDS)


def default_schedule(settings: Settings) -> Schedule:
    """The retention every tenant without its own schedule follows."""
    return Schedule("*", settings.retention_days, settings.retention_every_seconds)


def _publish(loop: asyncio.AbstractEventLoop, feed: LiveFeed, seq: int) -> None:
    """From the writer thread: tell the live feed, on its event loop, that ``seq`` committed."""
    loop.call_soon_threadsafe(feed.publish, seq)


async def _serve_listeners(
    settings: Settings,
    database: Database,
    ingest: _Ingest | None,
    feed: LiveFeed,
    keyring: Keyring,
    on_ready: Callable[[Running], None] | None,
    stop: asyncio.Event,
    conventions: Conventions,
) -> None:
    otlp = _OtlpListeners(settings, ingest.intake) if ingest is not None else None
    api_socket = listening_socket(settings.host, settings.api_port)
    reader = Reader(database)
    instance_id = discovery.new_instance_id()
    api = build_api_app(
        reader,
        feed,
        schema_version=database.schema_version,
        write=ingest.writer.run_task if ingest is not None else None,
        default_schedule=default_schedule(settings),
        upkeep_defaults=settings.upkeep_defaults if database.is_lake else None,
        run_upkeep=ingest.upkeep.run_now if ingest is not None and ingest.upkeep is not None else None,
        keyring=keyring,
        instance_id=instance_id,
        conventions=conventions,
        max_attribute_length=settings.max_attribute_length,
    )
    api_server = _uvicorn(api, settings)
    tasks: list[asyncio.Task[Any]] = []
    try:
        if otlp is not None:
            await otlp.start()
        api_task = asyncio.create_task(api_server.serve(sockets=[api_socket]))
        grpc_port, http_port = (otlp.grpc_port, otlp.http_port) if otlp is not None else (0, 0)
        running = Running(database, grpc_port, http_port, api_socket.getsockname()[1], instance_id, stop)
        if ingest is not None:
            retention = RetentionScheduler(ingest.writer, default_schedule(settings))
            tasks.append(asyncio.create_task(retention.run_forever()))
            if ingest.upkeep is not None:
                tasks.append(asyncio.create_task(ingest.upkeep.run_forever()))
        if database.is_lake:
            tasks.append(asyncio.create_task(_follow_lake(reader, feed)))
        warming = asyncio.create_task(_warm_metrics(reader))
        with _stop_on_signals(running.stop), discovery.announced(settings, running):
            if on_ready is not None:
                on_ready(running)
            await running.stop.wait()
        for task in tasks:
            task.cancel()
        log.info("stopping: no new requests; finishing those in flight")
        api_server.should_exit = True
        # The warm-up's thread cannot be cancelled: it ends before the database closes.
        await asyncio.gather(otlp.stop() if otlp is not None else asyncio.sleep(0), api_task, warming)
    finally:
        reader.close()  # its cursors, before serve() closes the database


class _OtlpListeners:
    """OTLP/gRPC and OTLP/HTTP in front of the intake."""

    def __init__(self, settings: Settings, intake: Intake) -> None:
        self._grpc = build_grpc_server(
            intake, max_message_bytes=settings.max_grpc_message_bytes, max_concurrent_rpcs=settings.max_connections
        )
        self.grpc_port = self._grpc.add_insecure_port(f"{settings.host}:{settings.grpc_port}")
        self._http_socket = listening_socket(settings.host, settings.http_port)
        self.http_port: int = self._http_socket.getsockname()[1]
        endpoint = ExportEndpoint(
            intake,
            max_body_bytes=settings.max_http_body_bytes,
            max_decompressed_bytes=settings.max_decompressed_bytes,
            body_timeout=settings.body_timeout_seconds,
        )
        self._http = _uvicorn(build_http_app(endpoint), settings)
        self._http_task: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self._grpc.start()
        self._http_task = asyncio.create_task(self._http.serve(sockets=[self._http_socket]))

    async def stop(self) -> None:
        self._http.should_exit = True
        await asyncio.gather(self._grpc.stop(GRACE_SECONDS), *([self._http_task] if self._http_task else []))


KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed this long after the longest Retry-After the server hands out:
idle clients do not pile up, and a sender coming back when told to never races the close of its
connection (a reset it would see as a failed export)."""


def keep_alive_seconds(settings: Settings) -> int:
    longest_retry_after = max(MIN_RETRY_AFTER_SECONDS, settings.target_wait_seconds)
    return math.ceil(longest_retry_after) + KEEP_ALIVE_SECONDS


async def _warm_metrics(reader: Reader) -> None:
    """Compute metrics' day partials in the background, so the first request finds them."""
    started = time.perf_counter()
    try:
        tenants = await reader.read(warm_up, reader.clock(), reader.metric_days)
    except (AgentlogError, duckdb.Error) as error:  # an optimisation: if it fails, the first request computes
        log.warning("metrics warm-up failed: %s", error)
        return
    log.info("metrics of %d tenant(s) warmed in %.1f s", len(tenants), time.perf_counter() - started)


def _uvicorn(app: Any, settings: Settings) -> _Uvicorn:
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=int(GRACE_SECONDS),
        limit_concurrency=settings.max_connections,  # past it: 503, never an unbounded pile of coroutines
        timeout_keep_alive=keep_alive_seconds(settings),
    )
    return _Uvicorn(config)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; embedders stop us through the event
        return
    loop = asyncio.get_running_loop()
    handled = (signal.SIGINT, signal.SIGTERM)
    for signum in handled:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)


def run(settings: Settings, on_ready: Callable[[Running], None] | None = None) -> int:
    """Blocking entry point for the CLI; returns the number of spans committed."""
    return asyncio.run(serve(settings, on_ready))
