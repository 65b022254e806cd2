"""Times and durations as people and the API's JSON read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from agentlog.errors import InvalidRequest

_NS = 1_000_000_000
MAX_UNIX_NANO = 2**64 - 1
_MS_PER_MINUTE = 60_000
_MS_PER_HOUR = 3_600_000


def iso_utc(unix_nano: int | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, to the millisecond: ``2025-08-21T10:02:03.250Z``."""
    if unix_nano is None:
        return None
    seconds, rest = divmod(unix_nano, _NS)
    return f"{_second_text(seconds)}.{rest // 1_000_000:03d}Z"


@lru_cache(maxsize=4096)
def _second_text(seconds: int) -> str:
    """A run's timestamps share few distinct seconds: formatting each once saves most of a 1,000-node page."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def human_duration(ms: float | None) -> str | None:
    """The API's duration strings: ``120ms``, ``8s``, ``45.2s``, ``3m 5s``, ``2h 4m``."""
    if ms is None:
        return None
    if ms < 1000:
        return f"{round(ms)}ms"
    if ms < _MS_PER_MINUTE:
        seconds = round(ms / 1000, 1)
        return f"{seconds:g}s" if seconds < 60 else "1m 0s"
    if ms < _MS_PER_HOUR:
        minutes, rest = divmod(round(ms / 1000), 60)
        return f"{minutes}m {rest}s"
    hours, rest = divmod(round(ms / 1000 / 60), 60)
    return f"{hours}h {rest}m"


def parse_time(text: str, name: str) -> int:
    """An ISO 8601 date or date-time (naive means UTC) as Unix nanoseconds; 400 if it is not one.

    Any date Python can read is an answer: one before 1970 is 0, one after the
    latest uint64 nanosecond (2554) is 2**64 - 1, so a filter on it still says
    "everything" or "nothing" rather than failing."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"{name} must be an ISO 8601 date or date-time in the years 0001 to 9999, "
            f"such as 2025-08-21 or 2025-08-21T10:00:00Z; got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        unix_nano = int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1)) * 1000
    except OverflowError:
        raise InvalidRequest(f"{name} is out of range: {text!r}") from None
    # OTLP times are unsigned 64-bit nanoseconds: 1970 to 2554 is the whole range a span can have.
    return min(max(0, unix_nano), MAX_UNIX_NANO)


def days_ago(days: int, now_ns: int) -> int:
    """Unix nanoseconds ``days`` before ``now_ns``; never before the epoch (nothing stored is older)."""
    return max(0, now_ns - days * 86_400 * _NS)


def ns_to_ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1_000_000
