"""One transaction on a cursor, written once for every store function that runs its own."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

log = logging.getLogger(__name__)


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
