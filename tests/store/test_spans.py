from __future__ import annotations

from pathlib import Path

from agentlog.store import Database, insert_spans
from tests.factories import agent_spans, make_request, make_span, span_rows


def _insert(database: Database, *requests: object, tenant: str = "default", seq: int = 1) -> int:
    cursor = database.cursor()
    cursor.execute("BEGIN")
    new = insert_spans(cursor, [span_rows(request, tenant) for request in requests], seq)
    cursor.execute("COMMIT")
    return new


def test_ids_round_trip_as_hex(db_path: Path) -> None:
    database = Database.open(db_path)
    span = make_span(trace_id=bytes.fromhex("ff" * 16), span_id=bytes.fromhex("80" + "00" * 7))
    _insert(database, make_request([span]))
    row = database.cursor().execute("SELECT trace_hex(trace_id), printf('%016x', span_id) FROM stored_spans").fetchone()
    assert row == ("ff" * 16, "80" + "00" * 7)
    database.close()


def test_duplicates_in_one_insert_and_across_inserts_are_stored_once(db_path: Path) -> None:
    database = Database.open(db_path)
    request = make_request(agent_spans(4))
    _insert(database, request, request)
    _insert(database, request)
    assert database.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (4,)
    database.close()


def test_a_span_resent_many_commits_later_is_stored_once_and_not_counted_again(db_path: Path) -> None:
    database = Database.open(db_path)
    spans = agent_spans(6)
    assert _insert(database, make_request(spans[:3]), seq=1) == 3
    assert _insert(database, make_request(agent_spans(3)), seq=2) == 3  # another run in between
    assert _insert(database, make_request(spans[3:]), seq=3) == 3
    # the whole run again, plus one span repeated inside the request
    assert _insert(database, make_request(spans + spans[:1]), make_request(agent_spans(2)), seq=4) == 2
    cursor = database.cursor()
    assert cursor.execute("SELECT count(*) FROM stored_spans").fetchone() == (11,)
    runs = cursor.execute("SELECT span_count, node_count FROM run_rollups ORDER BY span_count").fetchall()
    assert runs == [(2, 1), (3, 2), (6, 5)]
    database.close()


def test_input_and_output_read_back_whether_kept_once_or_stored(db_path: Path) -> None:
    database = Database.open(db_path)
    trace_id = bytes(range(1, 17))
    kept_once = make_span(trace_id=trace_id, name="chat", attributes={"gen_ai.input.messages": 'say "héllo"'})
    structured = make_span(
        trace_id=trace_id,
        parent_span_id=kept_once.span_id,
        name="tool",
        attributes={"gen_ai.tool.call.arguments": ["a", 1], "gen_ai.tool.call.result": "ok"},
    )
    _insert(database, make_request([kept_once, structured]))
    cursor = database.cursor()
    stored = cursor.execute("SELECT name, input, input_key FROM stored_spans ORDER BY name").fetchall()
    assert stored == [("chat", None, "gen_ai.input.messages"), ("tool", '["a",1]', None)]
    rows = cursor.execute("SELECT name, input, output FROM spans ORDER BY name").fetchall()
    assert rows == [("chat", 'say "héllo"', None), ("tool", '["a",1]', "ok")]
    assert cursor.execute("SELECT input FROM runs").fetchone() == ('say "héllo"',)
    database.close()


def test_the_same_ids_in_two_tenants_are_two_spans(db_path: Path) -> None:
    database = Database.open(db_path)
    request = make_request(agent_spans(2))
    _insert(database, request, tenant="a")
    _insert(database, request, tenant="b")
    rows = database.cursor().execute("SELECT tenant_id, count(*) FROM stored_spans GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("a", 2), ("b", 2)]
    database.close()


def test_committed_spans_survive_reopening(db_path: Path) -> None:
    database = Database.open(db_path)
    _insert(database, make_request(agent_spans(3)))
    database.close()
    reopened = Database.open(db_path)
    assert reopened.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (3,)
    reopened.close()
