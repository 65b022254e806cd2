"""One transaction on a cursor, written once for every store function that runs its own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import duckdb

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def transaction(cursor: Any) -> Iterator[None]:
    """BEGIN; COMMIT when the block ends, or ROLLBACK and the block's error raised (not the rollback's)."""
    cursor.execute("BEGIN TRANSACTION")
    try:
        yield
        cursor.execute("COMMIT")
    except BaseException:
        try:
            cursor.execute("ROLLBACK")
        except duckdb.Error:  # the failure already ended the transaction
            log.debug("rollback after a failed transaction found no transaction", exc_info=True)
        raise


def conflicts_retried(fn: Callable[[], T], *, attempts: int, backoff_seconds: float) -> T:
    """``fn()`` (a transaction of its own: all or nothing), tried again after a conflict with another
    process's commit (on a lake), ``backoff_seconds`` doubling between tries up to a second; the last
    conflict raised."""
    for attempt in range(attempts):
        try:
            return fn()
        except duckdb.TransactionException:
            if attempt == attempts - 1:
                raise
            time.sleep(min(backoff_seconds * 2**attempt, 1.0))
    raise AssertionError("unreachable")
