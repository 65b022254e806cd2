"""Decoding off the event loop: wire bytes -> an Arrow table of rows, in a thread or worker processes.

Decoding is column by column (``agentlog.proto.decode_request``): native
code and whole-column kernels, most of which let go of the GIL. So by
default (``workers=0``) it runs on one thread of the server's own, beside
the event loop and the writer, with no process to start, feed or keep in
memory. ``workers > 0`` decodes in that many worker processes instead
(``spawn``ed: forking a process that runs gRPC threads is unsafe), which
hand back the rows as Arrow IPC bytes that the server maps without copying:
for a machine with cores to spare.

The function that does the work, ``agentlog.proto.decode_request``, is the
same in both cases: one decoder for both transports and both modes.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pyarrow as pa

from agentlog.collector.priority import lower_ingest_priority
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, Decoded, Encoding, decode_request


def _decode_to_ipc(
    body: bytes, encoding: Encoding, tenant_id: str, max_attribute_length: int
) -> tuple[bytes | None, int, str]:
    """In a worker: ``decode_request`` with the table as Arrow IPC bytes (cheap to send back)."""
    decoded = decode_request(body, encoding, tenant_id, max_attribute_length)
    if decoded.table is None:
        return None, decoded.rejected, decoded.message
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, decoded.table.schema) as writer:
        writer.write_table(decoded.table)
    return sink.getvalue().to_pybytes(), decoded.rejected, decoded.message


PR_SET_PDEATHSIG = 1  # prctl(2): a signal the kernel sends this process when its parent dies


def _start_worker() -> None:
    """Once per worker: die with the server, let go of its output, and warm up the imports.

    A server killed with SIGKILL cannot shut its pool down; without this its
    workers would linger, holding the server's stdout open, and whoever waits
    for that output to end (a supervisor, a test) would wait forever.
    """
    _die_with_parent()
    lower_ingest_priority()  # a worker has one thread
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    decode_request(b"", "protobuf", "warm-up", 16)


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
    """Decodes requests in-process (``workers=0``) or in a pool of worker processes."""

    def __init__(self, workers: int = 0, max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH) -> None:
        self._max_attribute_length = max_attribute_length
        self._pool: ProcessPoolExecutor | None = None
        self._thread: ThreadPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
        else:
            self._thread = ThreadPoolExecutor(1, "agentlog-decode", initializer=lower_ingest_priority)

    async def decode(self, body: bytes, encoding: Encoding, tenant_id: str) -> Decoded:
        loop = asyncio.get_running_loop()
        if self._thread is not None:
            return await loop.run_in_executor(
                self._thread, decode_request, body, encoding, tenant_id, self._max_attribute_length
            )
        ipc, rejected, message = await loop.run_in_executor(
            self._pool, _decode_to_ipc, body, encoding, tenant_id, self._max_attribute_length
        )
        table = pa.ipc.open_stream(ipc).read_all() if ipc is not None else None
        return Decoded(table, rejected, message)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
