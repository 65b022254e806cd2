"""Decoding off the event loop: wire bytes -> an Arrow table of rows, in a thread or worker processes.

Decoding is column by column (``agentlog.proto.decode_request``): native
code and whole-column kernels, most of which let go of the GIL. So by
default (``workers=0``) it runs on one thread of the server's own, beside
the event loop and the writer, with no process to start, feed or keep in
memory. That thread decodes every request waiting when it is free in one
pass (``decode_requests``, up to ``MAX_DECODE_BATCH_BYTES``): a pass has a
fixed cost, so under load this halves the cost of a span (bench/README).
``workers > 0`` decodes in that many worker processes instead
(``spawn``ed: forking a process that runs gRPC threads is unsafe), which
hand back the rows as Arrow IPC bytes that the server maps without copying:
for a machine with cores to spare.

The function that does the work, ``agentlog.proto.decode_request``, is the
same in both cases: one decoder for both transports and both modes. Log
requests (``signal="logs"``) take the same thread or workers, and
``agentlog.proto.decode_log_request``, one request at a time.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from agentlog.collector.priority import lower_ingest_priority
from agentlog.proto import (
    DEFAULT_MAX_ATTRIBUTE_LENGTH,
    Decoded,
    Encoding,
    Signal,
    decode_log_request,
    decode_request,
    decode_requests,
)
from agentlog.proto.conventions import BUILT_IN, Conventions

log = logging.getLogger(__name__)


def _decode_one(
    body: bytes,
    encoding: Encoding,
    tenant_id: str,
    max_attribute_length: int,
    signal: Signal,
    conventions: Conventions = BUILT_IN,
) -> Decoded:
    """One request of ``signal``, decoded by its decoder; InvalidRequest when the body is not one."""
    if signal == "logs":
        return decode_log_request(body, encoding, tenant_id, max_attribute_length)
    return decode_request(body, encoding, tenant_id, max_attribute_length, conventions)


_worker_conventions = BUILT_IN
"""In a worker process: the server's conventions, given once when the worker starts (``_start_worker``)."""


def _decode_to_ipc(
    body: bytes, encoding: Encoding, tenant_id: str, max_attribute_length: int, signal: Signal = "traces"
) -> tuple[bytes | None, int, str]:
    """In a worker: ``_decode_one`` with the table as Arrow IPC bytes (cheap to send back)."""
    decoded = _decode_one(body, encoding, tenant_id, max_attribute_length, signal, _worker_conventions)
    if decoded.table is None:
        return None, decoded.rejected, decoded.message
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, decoded.table.schema) as writer:
        writer.write_table(decoded.table)
    return sink.getvalue().to_pybytes(), decoded.rejected, decoded.message


MAX_DECODE_BATCH_BYTES = 4 * 1024 * 1024
"""Request bytes the decode thread takes into one pass: ~7 requests of 512 agent spans (8 MiB decoded
no faster here, and held ~80 MiB more at the peak)."""

PR_SET_PDEATHSIG = 1  # prctl(2): a signal the kernel sends this process when its parent dies


def _start_worker(conventions: Conventions = BUILT_IN) -> None:
    """Once per worker: keep the server's ``conventions``, die with the server, let go of its output, and
    warm up the imports.

    A server killed with SIGKILL cannot shut its pool down; without this its
    workers would linger, holding the server's stdout open, and whoever waits
    for that output to end (a supervisor, a test) would wait forever.
    """
    global _worker_conventions  # noqa: PLW0603 - one value per worker process, set before its first request
    _worker_conventions = conventions
    _die_with_parent()
    lower_ingest_priority()  # a worker has one thread
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    decode_request(b"", "protobuf", "warm-up", 16, conventions)


def _die_with_parent() -> None:
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)
        return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class Decoder:
    """Decodes requests in-process (``workers=0``) or in a pool of worker processes; the canonical
    columns by ``conventions``."""

    def __init__(
        self,
        workers: int = 0,
        max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH,
        conventions: Conventions = BUILT_IN,
    ) -> None:
        self._max_attribute_length = max_attribute_length
        self._pool: ProcessPoolExecutor | None = None
        self._thread: _DecodeThread | None = None
        if workers > 0:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start_worker, initargs=(conventions,)
            )
        else:
            self._thread = _DecodeThread(max_attribute_length, conventions)

    async def decode(self, body: bytes, encoding: Encoding, tenant_id: str, signal: Signal = "traces") -> Decoded:
        """The rows of one request of ``signal`` (span rows, or log record rows); InvalidRequest when the
        body is not such a request."""
        if self._thread is not None:
            return await self._thread.decode(body, encoding, tenant_id, signal)
        loop = asyncio.get_running_loop()
        ipc, rejected, message = await loop.run_in_executor(
            self._pool, _decode_to_ipc, body, encoding, tenant_id, self._max_attribute_length, signal
        )
        table = pa.ipc.open_stream(ipc).read_all() if ipc is not None else None
        return Decoded(table, rejected, message)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            self._thread.close()


@dataclass(slots=True)
class _Job:
    body: bytes
    encoding: Encoding
    tenant_id: str
    future: asyncio.Future[Decoded]
    loop: asyncio.AbstractEventLoop
    signal: Signal = "traces"


class _DecodeThread:
    """One thread that decodes, in one pass, every request waiting for it (see the module docstring)."""

    def __init__(self, max_attribute_length: int, conventions: Conventions) -> None:
        self._max_attribute_length = max_attribute_length
        self._conventions = conventions
        self._waiting: deque[_Job] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="agentlog-decode", daemon=True)
        self._thread.start()

    async def decode(self, body: bytes, encoding: Encoding, tenant_id: str, signal: Signal) -> Decoded:
        loop = asyncio.get_running_loop()
        job = _Job(body, encoding, tenant_id, loop.create_future(), loop, signal)
        with self._condition:
            if self._closing:
                raise RuntimeError("the decoder is closed")
            self._waiting.append(job)
            self._condition.notify()
        return await job.future

    def close(self) -> None:
        """Decode what is waiting, then stop."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join()

    def _run(self) -> None:
        lower_ingest_priority()
        while jobs := self._take():
            # Log requests are decoded one by one; trace requests together, in one pass.
            for job in jobs:
                if job.signal == "logs":
                    job.loop.call_soon_threadsafe(_settle, job.future, self._decode_alone(job))
            self._decode_traces([job for job in jobs if job.signal == "traces"])

    def _decode_traces(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        requests = [(job.body, job.encoding, job.tenant_id) for job in jobs]
        try:
            results: list[Decoded | Exception] = [
                *decode_requests(requests, self._max_attribute_length, self._conventions)
            ]
        except Exception:
            # Not a bad body (decode_requests answers those one by one): a defect. It must not end this
            # thread, nor fail the other requests: each is decoded again alone, with its own answer.
            log.exception("decoding %d request(s) together failed; decoding them one by one", len(jobs))
            results = [self._decode_alone(job) for job in jobs]
        for job, result in zip(jobs, results, strict=True):
            job.loop.call_soon_threadsafe(_settle, job.future, result)

    def _decode_alone(self, job: _Job) -> Decoded | Exception:
        try:
            length, conventions = self._max_attribute_length, self._conventions
            return _decode_one(job.body, job.encoding, job.tenant_id, length, job.signal, conventions)
        except Exception as error:  # noqa: BLE001 - this request's answer, whatever it is (see _run)
            return error

    def _take(self) -> list[_Job]:
        """The requests waiting, up to MAX_DECODE_BATCH_BYTES (at least one); [] once closing and drained."""
        with self._condition:
            while not self._waiting and not self._closing:
                self._condition.wait()
            jobs: list[_Job] = []
            size = 0
            while self._waiting and (not jobs or size + len(self._waiting[0].body) <= MAX_DECODE_BATCH_BYTES):
                job = self._waiting.popleft()
                jobs.append(job)
                size += len(job.body)
            return jobs


def _settle(future: asyncio.Future[Decoded], result: Decoded | Exception) -> None:
    if future.done():  # the request was cancelled (its sender went away)
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)
