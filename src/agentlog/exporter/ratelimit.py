"""A recurring problem logged at most once per interval, with how often it happened meanwhile.

A collector that is down makes every export fail and every new span drop;
one line a minute says so without flooding the agent's own logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

DEFAULT_INTERVAL_S = 60.0


class RateLimitedLog:
    """Counts occurrences of one problem; logs the first at once, then at most once per interval."""

    def __init__(
        self,
        logger: logging.Logger,
        message: str,
        *,
        level: int = logging.WARNING,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._message = message
        self._level = level
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_logged: float | None = None
        self._unlogged = 0
        self.total = 0

    def count(self, count: int = 1) -> None:
        """Count ``count`` occurrences without logging them (someone else reports them)."""
        with self._lock:
            self.total += count

    def record(self, count: int = 1, detail: str = "") -> None:
        """Count ``count`` occurrences; log them (and any unlogged before) if the interval has passed."""
        with self._lock:
            self.total += count
            self._unlogged += count
            now = self._clock()
            if self._last_logged is not None and now - self._last_logged < self._interval_s:
                return
            since = "" if self._last_logged is None else f" in the last {now - self._last_logged:.0f}s"
            unlogged, self._unlogged, self._last_logged = self._unlogged, 0, now
            total = self.total
        suffix = f": {detail}" if detail else ""
        self._logger.log(self._level, "%s: %d%s (%d in all)%s", self._message, unlogged, since, total, suffix)
