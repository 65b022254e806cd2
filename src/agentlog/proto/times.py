"""What a span's start and end times become when they are stored: the one rule, applied at ingest.

OTLP sends times as unsigned 64-bit nanoseconds since 1970 and requires both a
start and an end (``end_time_unix_nano >= start_time_unix_nano``). Readers show
them as DuckDB ``TIMESTAMP_NS`` values, signed 64-bit nanoseconds, whose latest
is ``MAX_TIME_NS`` (2262-04-11T23:47:16.854775806Z). So:

- a start of 0 (none sent), or a start or end past ``MAX_TIME_NS``, cannot be
  shown as a time: the span is rejected (counted in ``partial_success``, with
  this reason), and the rest of its request is stored;
- an end before the start (a skewed clock, or 0: none sent) is stored as the
  start (the span lasted 0 ns), and the end that was sent is kept in the
  span's attribute ``SENT_END_TIME``, so nothing is lost and no reader ever
  subtracts a start from an earlier end.
"""

from __future__ import annotations

MAX_TIME_NS = 2**63 - 2
"""The latest time a DuckDB ``TIMESTAMP_NS`` holds (2**63 - 1 is its "infinity")."""
MAX_TIME_TEXT = "2262-04-11T23:47:16.854775806Z"
SENT_END_TIME = "agentlog.sent_end_time_unix_nano"
"""The attribute that keeps a span's end as sent, when it was before its start."""


class InvalidTime(ValueError):
    """A span time that cannot be stored; the message says which and why."""


def span_times(start_ns: int, end_ns: int) -> tuple[int, int]:
    """(start, end) as stored: ``end`` raised to ``start`` when it is before it; InvalidTime if not storable."""
    if start_ns == 0:
        raise InvalidTime("start_time_unix_nano is 0: OTLP requires a span's start time")
    for field, value in (("start_time_unix_nano", start_ns), ("end_time_unix_nano", end_ns)):
        if value > MAX_TIME_NS:
            raise InvalidTime(f"{field} {value} is after {MAX_TIME_TEXT}, the latest time agentlog can store")
    return start_ns, max(start_ns, end_ns)
