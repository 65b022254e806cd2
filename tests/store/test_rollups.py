"""Run roll-ups that several writers share: append-only partials, a view, a compactor (store/rollups.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.query import (
    HistoryQuery,
    LogsQuery,
    MetricsQuery,
    StatsQuery,
    as_values,
    list_runs,
    run_logs,
    run_stats,
)
from agentlog.query.metrics import agent_metrics
from agentlog.query.scope import Scope
from agentlog.store import Database, compact_runs, insert_spans, rollups
from agentlog.store.repricing import reprice
from agentlog.store.retention import delete_expired_now
from agentlog.store.rollups import fold_partials
from tests.factories import agent_spans, make_request, make_span, new_trace_id, span_rows

RUN = "SELECT * EXCLUDE (commit_seq, first_seq) FROM run_rollups ORDER BY trace_id"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "shared.duckdb")
    yield database
    database.close()


def _table(spans: list[Span]) -> Any:
    return span_rows(make_request(spans), "default")


def _one_writer(tmp_path: Path, batches: list[list[Span]]) -> list[tuple[Any, ...]]:
    """The runs one writer stores from ``batches``, one transaction each: what two writers must agree with."""
    database = Database.open(tmp_path / "reference.duckdb")
    cursor = database.cursor()
    for seq, spans in enumerate(batches, 1):
        cursor.execute("BEGIN")
        insert_spans(cursor, [_table(spans)], seq)
        cursor.execute("COMMIT")
    rows = list(cursor.execute(RUN).fetchall())
    database.close()
    return rows


def _a_run_in_three_parts() -> list[list[Span]]:
    trace_id = new_trace_id()
    root, *children = agent_spans(7, trace_id)
    chat = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        name="chat gpt-4o",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 9},
    )
    return [[children[0], children[1]], [children[2], children[3], chat], [root, children[4], children[5]]]


def test_two_writers_adding_spans_to_one_run_in_interleaved_transactions_lose_nothing(
    database: Database, tmp_path: Path
) -> None:
    first, second, third = _a_run_in_three_parts()
    a, b = database.cursor(), database.cursor()
    a.execute("BEGIN")
    insert_spans(a, [_table(first)], 1)
    b.execute("BEGIN")
    insert_spans(b, [_table(second)], 2)
    a.execute("COMMIT")
    insert_spans(a, [_table(third)], 3)  # autocommit, while b's transaction is still open
    b.execute("COMMIT")
    assert a.execute(RUN).fetchall() == _one_writer(tmp_path, [first, second, third])
    assert a.execute("SELECT span_count, node_count, models FROM run_rollups").fetchall() == [(8, 7, ["gpt-4o"])]
    compact_runs(a)
    assert a.execute(RUN).fetchall() == _one_writer(tmp_path, [first, second, third])
    assert a.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)


def test_the_old_design_updating_the_run_in_place_conflicts(database: Database) -> None:
    """Why partials: before migration 0015 each commit updated the run's one row (merge_runs.sql);
    the second of two interleaved writers then fails."""
    first, _, _ = _a_run_in_three_parts()
    a, b = database.cursor(), database.cursor()
    insert_spans(a, [_table(first)], 1)
    compact_runs(a)
    update = "UPDATE run_compacted SET span_count = span_count + 1"  # what merge_runs.sql did, by rowid
    a.execute("BEGIN")
    a.execute(update)
    b.execute("BEGIN")
    with pytest.raises(duckdb.TransactionException, match="Conflict"):
        b.execute(update)
    b.execute("ROLLBACK")
    a.execute("COMMIT")


def test_compaction_while_partials_arrive_loses_none(database: Database, tmp_path: Path) -> None:
    first, second, third = _a_run_in_three_parts()
    other = agent_spans(3)
    writer, compactor = database.cursor(), database.cursor()
    insert_spans(writer, [_table(first)], 1)

    # A writer's partial that commits while a compaction runs is not in its snapshot: it stays.
    compactor.execute("BEGIN")
    assert fold_partials(compactor) == 1
    insert_spans(writer, [_table(second), _table(other)], 2)
    compactor.execute("COMMIT")
    assert writer.execute("SELECT count(*) FROM run_partials").fetchone() == (2,)
    assert writer.execute(RUN).fetchall() == _one_writer(tmp_path / "a", [first, second, other])

    # And a compaction that commits while a writer's transaction is open leaves its partial alone.
    writer.execute("BEGIN")
    insert_spans(writer, [_table(third)], 3)
    assert compact_runs(compactor) == 2
    writer.execute("COMMIT")
    assert compactor.execute("SELECT count(*) FROM run_partials").fetchone() == (1,)
    expected = _one_writer(tmp_path / "b", [first, second, other, third])
    assert compactor.execute(RUN).fetchall() == expected
    assert compact_runs(compactor) == 1
    assert compactor.execute(RUN).fetchall() == expected
    assert compactor.execute("SELECT count(*) FROM run_compacted").fetchone() == (2,)


def test_the_view_reads_the_same_compacted_or_not(database: Database) -> None:
    cursor = database.cursor()
    for seq, spans in enumerate(_a_run_in_three_parts(), 1):
        insert_spans(cursor, [_table(spans)], seq)
    uncompacted = cursor.execute("SELECT * FROM run_rollups").fetchall()
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (3,)
    assert compact_runs(cursor) == 3
    assert compact_runs(cursor) == 0
    assert cursor.execute("SELECT * FROM run_rollups").fetchall() == uncompacted
    assert cursor.execute("SELECT * FROM run_compacted").fetchall() == uncompacted


T0 = 1_760_000_000_000_000_000  # 2025-10-09, a day genai-prices has prices for
SECOND = 1_000_000_000


def _priced_run(tenant_id: str = "default") -> tuple[list[Any], list[Any]]:
    """A run in two commits: two priced chat calls, then the root."""
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent planner", start=T0, duration=10 * SECOND,
                     attributes={"gen_ai.agent.name": "planner", "user.id": "u-1"})  # fmt: skip
    chats = [
        make_span(
            trace_id=trace_id,
            parent_span_id=root.span_id,
            name="chat gpt-4o",
            start=T0 + i * SECOND,
            duration=SECOND,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 100,
            },
        )
        for i in (1, 2)
    ]
    return [span_rows(make_request(chats), tenant_id)], [span_rows(make_request([root]), tenant_id)]


def test_repricing_folds_the_partials_and_recounts_the_run(database: Database) -> None:
    cursor = database.cursor()
    first, second = _priced_run()
    insert_spans(cursor, first, 1)
    insert_spans(cursor, second, 2)
    good = cursor.execute("SELECT cost_usd, computed_cost_nodes FROM run_rollups").fetchone()
    cursor.execute("UPDATE stored_spans SET cost_usd = 1 WHERE cost_source = 'computed'")  # as if mispriced
    cursor.execute("UPDATE run_partials SET cost_usd = 7")
    repriced = reprice(cursor, "default", 0)
    assert (repriced.changed, repriced.runs) == (2, 1)
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)
    assert cursor.execute("SELECT cost_usd, computed_cost_nodes FROM run_rollups").fetchone() == good


def test_retention_deletes_a_runs_compacted_row_and_its_partials(database: Database) -> None:
    cursor = database.cursor()
    first, second = _priced_run()
    insert_spans(cursor, first, 1)
    compact_runs(cursor)
    insert_spans(cursor, second, 2)  # the root: a partial beside the compacted row
    later = T0 + 2 * 86_400 * SECOND  # not expired
    kept_root = make_span(name="invoke_agent planner", start=later, duration=SECOND)
    kept = [kept_root, make_span(trace_id=kept_root.trace_id, parent_span_id=kept_root.span_id, start=later)]
    insert_spans(cursor, [span_rows(make_request(kept), "default")], 3)
    deleted = delete_expired_now(cursor, "default", T0 + 3600 * SECOND)
    assert (deleted.runs, deleted.spans) == (1, 3)
    assert cursor.execute("SELECT count(*) FROM run_rollups").fetchone() == (1,)
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (1,)  # the kept run's
    assert cursor.execute("SELECT count(*) FROM run_compacted").fetchone() == (0,)


def test_a_tenant_without_partials_reads_the_same_from_run_compacted(database: Database) -> None:
    """The read shortcut (store.rollups.for_tenant): history, stats, logs and metrics of a tenant
    whose runs have partials, then of the same tenant once compacted, while another tenant has partials."""
    cursor = database.cursor()
    scope = Scope(tenant_id="acme")
    first, second = _priced_run("acme")
    insert_spans(cursor, first, 1)
    insert_spans(cursor, second, 2)
    now = T0 + 86_400 * SECOND

    def reads() -> list[Any]:
        page = list_runs(cursor, scope, HistoryQuery(), now)
        run_id = page.runs[0]["run_id"]
        return [
            page.runs,
            list_runs(cursor, scope, HistoryQuery(agent_id="planner"), now).runs,
            run_stats(cursor, scope, StatsQuery(days=7), now),
            as_values(run_logs(cursor, scope, LogsQuery(run_id[:12]))),
            agent_metrics(cursor, scope, MetricsQuery(days=7), now),
        ]

    through_the_view = reads()
    assert rollups.for_tenant(cursor, "acme", "SELECT 1 FROM run_rollups") == "SELECT 1 FROM run_rollups"
    compact_runs(cursor)
    other, _ = _priced_run("other")
    insert_spans(cursor, other, 3)  # another tenant's partials do not matter
    assert rollups.for_tenant(cursor, "acme", "SELECT 1 FROM run_rollups") == "SELECT 1 FROM run_compacted"
    assert reads() == through_the_view
