"""Ingest yields the CPU to reads: the writer and decode threads (or workers) run at a lower priority.

On a machine with few cores, ingest and reads compete for the same CPU.
People wait on reads; senders do not wait on ingest in the same way: their
batches queue, and the group-commit writer takes whatever queued in its next,
bigger, transaction. So when both want the CPU, reads get it first. While no
read runs, ingest has the CPU to itself, and nothing changes.

Linux applies a nice value per thread, so this lowers exactly the thread
that calls it: the writer, the decode thread (or, called in a decode worker
process, that process). DuckDB's own
worker threads serve reads and writes alike and keep their priority.
Elsewhere, or where the system refuses, ingest keeps its priority.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)

INGEST_NICENESS = 5
"""Added to the nice value of ingest threads: reads win when both are runnable, ingest is not starved."""


def lower_ingest_priority(niceness: int = INGEST_NICENESS) -> None:
    """Lower the calling thread's CPU priority by ``niceness`` (Linux: per thread); a no-op where unsupported."""
    if not hasattr(os, "setpriority") or not niceness:
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except OSError:
        log.debug("could not lower the priority of ingest thread %d", thread, exc_info=True)
