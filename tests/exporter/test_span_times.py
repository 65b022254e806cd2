"""Embedded mode decodes spans as the receivers do: the same rule for impossible times."""

from __future__ import annotations

import time

import pytest

import agentlog
from agentlog.proto.times import SENT_END_TIME
from tests.exporter.agents import embedded_rows


def test_embedded_spans_with_impossible_times_are_refused_or_kept_as_the_receivers_do(
    embedded: agentlog.Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time_ns()
    backwards = embedded.tracer.start_span("backwards", start_time=now)
    backwards.end(end_time=now - 1_000)
    too_late = embedded.tracer.start_span("too late", start_time=2**63)
    too_late.end(end_time=2**63 + 1)
    assert embedded.force_flush()

    rows = embedded_rows(
        embedded,
        f"""SELECT name, start_time_unix_nano, end_time_unix_nano, attributes->>'$."{SENT_END_TIME}"' AS sent
            FROM stored_spans""",
    )
    assert rows == [{"name": "backwards", "start_time_unix_nano": now, "end_time_unix_nano": now,
                     "sent": str(now - 1_000)}]  # fmt: skip
    assert "span 'too late': start_time_unix_nano 9223372036854775808 is after 2262-04-11" in caplog.text
    assert embedded_rows(embedded, "SELECT duration_ms FROM spans") == [{"duration_ms": 0.0}]
