"""The rule for span times at ingest: what is refused, what is stored, and what is kept of what was sent."""

from __future__ import annotations

import orjson
import pytest

from agentlog.proto.spans import decode_spans
from agentlog.proto.times import MAX_TIME_NS, SENT_END_TIME, InvalidTime, span_times
from tests.factories import make_request, make_span

T = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("start", "end", "stored"),
    [
        (T, T + 5, (T, T + 5)),
        (T, T, (T, T)),
        (T, T - 5, (T, T)),  # ends before it starts: lasted 0 ns
        (T, 0, (T, T)),  # no end sent
        (1, 0, (1, 1)),
        (MAX_TIME_NS, MAX_TIME_NS, (MAX_TIME_NS, MAX_TIME_NS)),
        (MAX_TIME_NS, 0, (MAX_TIME_NS, MAX_TIME_NS)),
    ],
)
def test_storable_times_and_where_an_end_is_raised(start: int, end: int, stored: tuple[int, int]) -> None:
    assert span_times(start, end) == stored


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (0, T, "start_time_unix_nano is 0"),
        (0, 0, "start_time_unix_nano is 0"),
        (MAX_TIME_NS + 1, MAX_TIME_NS + 1, "start_time_unix_nano 9223372036854775807 is after 2262-04-11"),
        (2**64 - 1, T, "start_time_unix_nano 18446744073709551615 is after"),
        (T, MAX_TIME_NS + 1, "end_time_unix_nano 9223372036854775807 is after 2262-04-11T23:47:16.854775806Z"),
        (T, 2**63, "end_time_unix_nano 9223372036854775808 is after"),
    ],
)
def test_times_no_reader_could_show_are_refused_with_a_reason(start: int, end: int, reason: str) -> None:
    with pytest.raises(InvalidTime, match=reason):
        span_times(start, end)


def test_a_span_ending_before_it_starts_keeps_the_end_it_was_sent_with() -> None:
    good = make_span(name="good", start=T, duration=7)
    backwards = make_span(name="backwards", start=T, duration=0)
    backwards.end_time_unix_nano = T - 3
    unended = make_span(name="unended", start=T, duration=0)
    unended.end_time_unix_nano = 0
    too_late = make_span(name="too late", start=2**63, duration=1)

    batch = decode_spans(make_request([good, backwards, unended, too_late]))

    assert batch.name == ["good", "backwards", "unended"]
    assert batch.end_time_unix_nano == [T + 7, T, T]
    sent = [orjson.loads(attributes).get(SENT_END_TIME) for attributes in batch.attributes]
    assert sent == [None, T - 3, 0]
    assert batch.rejected == 1
    assert batch.rejection_message == (
        "1 span(s) rejected: span 'too late': start_time_unix_nano 9223372036854775808 is after "
        "2262-04-11T23:47:16.854775806Z, the latest time agentlog can store"
    )
