"""The analyst views: spans, nodes, runs, agents (documented and stable)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tests.store.test_runs import Store, agent_run


def test_views_show_hex_ids_timestamps_and_the_api_words() -> None:
    store = Store()
    spans = agent_run()
    spans[3].status.code = 2
    store.add(*spans)
    run_id = spans[0].trace_id.hex()

    (span,) = store.table(
        f"SELECT trace_id, span_id, parent_span_id, start_time, duration_ms FROM spans WHERE parent_span_id IS NULL AND trace_id = '{run_id}'"
    )
    assert span == (run_id, spans[0].span_id.hex(), None, datetime(2025, 10, 9, 8, 53, 20), 10_000.0)

    nodes = store.table("SELECT run_id, name, type, status, model FROM nodes ORDER BY started_at")
    assert nodes == [
        (run_id, "chat gpt-4o", "llm", "completed", "gpt-4o"),
        (run_id, "execute_tool search", "tool", "failed", None),
        (run_id, "chat gpt-4o", "llm", "completed", "gpt-4o"),
    ]

    (run,) = store.table(
        "SELECT run_id, status, agent, user_id, started_at, duration_ms, node_count, total_tokens, cost_usd FROM runs"
    )
    assert run == (run_id, "success", "bug-triager", "u-1", datetime(2025, 10, 9, 8, 53, 20), 10_000.0, 3, 3300,
                   Decimal("0.010500000000"))  # fmt: skip

    (agent,) = store.table("SELECT agent, runs, successful_runs, failed_runs, total_tokens FROM agents")
    assert agent == ("bug-triager", 1, 1, 0, 3300)
    store.database.close()
