"""Ingest runs below reads in CPU priority: the writer thread and the decode workers, and nothing else."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

from agentlog.collector.decoding import Decoder
from agentlog.collector.priority import INGEST_NICENESS, lower_ingest_priority
from agentlog.collector.writer import SpanWriter
from agentlog.store import Database

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def nice_of(thread_id: int) -> int:
    """A thread's nice value, as the kernel reports it (/proc/self/task/<tid>/stat, field 19)."""
    stat = Path(f"/proc/self/task/{thread_id}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def test_only_the_calling_thread_is_lowered() -> None:
    lowered: list[int] = []

    def ingest() -> None:
        lower_ingest_priority()
        lowered.append(nice_of(threading.get_native_id()))

    before = nice_of(threading.get_native_id())
    thread = threading.Thread(target=ingest)
    thread.start()
    thread.join()
    assert lowered == [min(before + INGEST_NICENESS, 19)]
    assert nice_of(threading.get_native_id()) == before  # the caller's own thread: a reader's, untouched


def test_the_writer_thread_runs_below_the_readers(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()
    try:
        (thread,) = [t for t in threading.enumerate() if t.name == "agentlog-writer"]
        assert thread.native_id is not None
        deadline = 100
        while nice_of(thread.native_id) == os.getpriority(os.PRIO_PROCESS, 0) and deadline:
            threading.Event().wait(0.01)  # the thread lowers itself as it starts
            deadline -= 1
        assert nice_of(thread.native_id) == min(nice_of(threading.get_native_id()) + INGEST_NICENESS, 19)
    finally:
        writer.close()
        database.close()


def test_decode_workers_run_below_the_server() -> None:
    decoder = Decoder(workers=1)
    try:
        asyncio.run(decoder.decode(b"", "protobuf", "default"))  # the worker has started once this returns
        children = [
            pid for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()
        ]
        # The pool's workers, not multiprocessing's resource tracker (also a child).
        workers = [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert workers
        server = os.getpriority(os.PRIO_PROCESS, 0)
        assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in workers} == {min(server + INGEST_NICENESS, 19)}
    finally:
        decoder.close()
