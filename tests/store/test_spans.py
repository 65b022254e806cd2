from __future__ import annotations

from pathlib import Path

from agentlog.proto import decode_spans
from agentlog.store import Database, insert_spans, to_arrow
from tests.factories import agent_spans, make_request, make_span


def _insert(database: Database, *requests: object, tenant: str = "default") -> None:
    cursor = database.cursor()
    cursor.execute("BEGIN")
    insert_spans(cursor, [to_arrow(decode_spans(request), tenant) for request in requests], 1)
    cursor.execute("COMMIT")


def test_ids_round_trip_as_hex(db_path: Path) -> None:
    database = Database.open(db_path)
    span = make_span(trace_id=bytes.fromhex("ff" * 16), span_id=bytes.fromhex("80" + "00" * 7))
    _insert(database, make_request([span]))
    row = (
        database.cursor()
        .execute("SELECT printf('%032x', trace_id), printf('%016x', span_id) FROM stored_spans")
        .fetchone()
    )
    assert row == ("ff" * 16, "80" + "00" * 7)
    database.close()


def test_duplicates_in_one_insert_and_across_inserts_are_stored_once(db_path: Path) -> None:
    database = Database.open(db_path)
    request = make_request(agent_spans(4))
    _insert(database, request, request)
    _insert(database, request)
    assert database.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (4,)
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
