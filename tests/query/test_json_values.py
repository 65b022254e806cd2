"""Every type DuckDB can return comes back as JSON: from SqlResult.to_json, the CLI and POST /api/v1/sql.

Each value is selected from a real database file; its JSON shape is the one
``agentlog.query.json_values`` documents.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.query.json_values import _civil
from agentlog.query.sql_console import run_sql
from agentlog.store import Database
from tests.api.sdk_runs import send_run
from tests.conftest import ServerHandle, start_server

# (a DuckDB expression, its JSON value)
TYPES: list[tuple[str, Any]] = [
    ("TIMESTAMP '2024-01-02 03:04:05.123456'", "2024-01-02T03:04:05.123456"),
    ("TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02T03:04:05"),
    ("TIMESTAMP '1969-12-31 23:59:59.5'", "1969-12-31T23:59:59.500000"),
    ("TIMESTAMPTZ '2024-01-02 03:04:05+02'", "2024-01-02T01:04:05Z"),
    ("TIMESTAMP_NS '2024-01-02 03:04:05.123456789'", "2024-01-02T03:04:05.123456789"),
    ("TIMESTAMP_MS '2024-01-02 03:04:05.123'", "2024-01-02T03:04:05.123"),
    ("TIMESTAMP_S '2024-01-02 03:04:05'", "2024-01-02T03:04:05"),
    ("DATE '2024-02-29'", "2024-02-29"),
    ("TIME '03:04:05.5'", "03:04:05.5"),
    ("TIME '24:00:00'", "24:00:00"),
    ("INTERVAL '1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S"),
    ("INTERVAL '-1 day 2 hours'", "P-1DT2H"),
    ("INTERVAL '-90 minutes'", "PT-1H-30M"),
    ("INTERVAL 0 SECOND", "PT0S"),
    ("12.345::DECIMAL(10, 3)", "12.345"),
    ("0.0000000001::DECIMAL(18, 10)", "0.0000000001"),
    ("170141183460469231731687303715884105727::HUGEINT", "170141183460469231731687303715884105727"),
    ("-170141183460469231731687303715884105727::HUGEINT - 1", "-170141183460469231731687303715884105728"),
    ("340282366920938463463374607431768211455::UHUGEINT", "340282366920938463463374607431768211455"),
    # A VARINT literal is written as a string: DuckDB reads a bare number too long for HUGEINT as a DOUBLE.
    ("'-123456789012345678901234567890123456789012345'::VARINT", "-123456789012345678901234567890123456789012345"),
    (
        "'-1234567890123456789012345678901234567890123456789012345678901'::VARINT",
        "-1234567890123456789012345678901234567890123456789012345678901",
    ),
    (
        "['1234567890123456789012345678901234567890123456789012345678901'::VARINT]",
        ["1234567890123456789012345678901234567890123456789012345678901"],
    ),
    # A time with its offset: DuckDB's own text (Arrow has no such type).
    ("'12:00:00+05'::TIMETZ", "12:00:00+05"),
    ("'23:59:59.5-03:30'::TIMETZ", "23:59:59.5-03:30"),
    ("{'at': ['01:02:03+01'::TIMETZ], 'n': 1}", {"at": ["01:02:03+01"], "n": 1}),
    (
        "MAP {'12345678901234567890123456789012'::VARINT: '00:00:00+00'::TIMETZ}",
        [{"key": "12345678901234567890123456789012", "value": "00:00:00+00"}],
    ),
    ("'\\xAA\\xBB'::BLOB", "aabb"),
    ("'0101'::BIT", "0101"),
    ("uuid '12345678-1234-5678-1234-567812345678'", "12345678-1234-5678-1234-567812345678"),
    ("'b'::ENUM('a', 'b')", "b"),
    ("[1, NULL, 3]", [1, None, 3]),
    ("[[TIMESTAMP '2024-01-01']]", [["2024-01-01T00:00:00"]]),
    ("[1, 2]::INTEGER[2]", [1, 2]),
    ("{'a': 1, 'b': [DATE '2024-01-01'], 'c': NULL}", {"a": 1, "b": ["2024-01-01"], "c": None}),
    ("MAP {'k': INTERVAL 1 DAY}", [{"key": "k", "value": "P1D"}]),
    ("[MAP {'k': 'infinity'::TIMESTAMP}]", [[{"key": "k", "value": "infinity"}]]),
    ("union_value(num := 2)::UNION(num INTEGER, str VARCHAR)", 2),
    ("'nan'::DOUBLE", "NaN"),
    ("'inf'::DOUBLE", "Infinity"),
    ("'-inf'::FLOAT", "-Infinity"),
    ("1.5::FLOAT", 1.5),
    ("9007199254740993::UBIGINT", 9007199254740993),
    ("true", True),
    ("'text'", "text"),
    ("NULL::TIMESTAMP", None),
    ("NULL", None),
    # Outside what Python's datetime holds.
    ("'infinity'::TIMESTAMP", "infinity"),
    ("'-infinity'::TIMESTAMPTZ", "-infinity"),
    ("'-infinity'::DATE", "-infinity"),
    ("TIMESTAMP '294247-01-01'", "+294247-01-01T00:00:00"),
    ("DATE '0000-01-01'", "0000-01-01"),  # 1 BC, as ISO 8601 counts years
    ("DATE '-0100-03-01'", "-0100-03-01"),
    ("DATE '0001-01-01' - 1", "0000-12-31"),
]
IDS = [expression for expression, _ in TYPES]
ALL = "SELECT " + ", ".join(f"{expression} AS c{i}" for i, (expression, _) in enumerate(TYPES))


@pytest.fixture(scope="module")
def db_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("types") / "agentlog.duckdb"
    Database.open(path).close()
    yield path


@pytest.fixture(scope="module")
def server(db_file: Path) -> Iterator[ServerHandle]:
    handle = start_server(db=str(db_file))
    yield handle
    handle.stop()


def _same(got: Any, expected: Any) -> bool:
    """Equal as JSON; a float NaN never stands where a value is expected."""
    if isinstance(got, float) and math.isnan(got):
        return False
    return bool(json.dumps(got) == json.dumps(expected))


@pytest.mark.parametrize(("expression", "expected"), TYPES, ids=IDS)
def test_a_type_comes_back_as_json_from_python(db_file: Path, expression: str, expected: Any) -> None:
    database = Database.open(db_file)
    try:
        result = run_sql(database.cursor(), f"SELECT {expression} AS v")
    finally:
        database.close()
    document = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert _same(document["rows"], [[expected]])


@pytest.mark.parametrize(("expression", "expected"), TYPES, ids=IDS)
def test_a_type_comes_back_as_json_over_http(server: ServerHandle, expression: str, expected: Any) -> None:
    response = httpx.post(server.api_url + "/api/v1/sql", json={"sql": f"SELECT {expression} AS v"}, timeout=10)
    assert response.status_code == 200, response.text
    assert _same(response.json()["rows"], [[expected]])


def test_every_type_at_once_through_the_cli_in_process(db_file: Path, server: ServerHandle) -> None:
    """From the file, and from the server (Arrow IPC carries DuckDB's column types along)."""
    for where in (["--db", str(db_file)], ["--url", server.api_url]):
        result = CliRunner().invoke(app, ["sql", ALL, "--json", *where], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        row = json.loads(result.stdout)["rows"][0]
        assert [row[f"c{i}"] for i in range(len(TYPES))] == [expected for _, expected in TYPES]
        table = CliRunner().invoke(app, ["sql", ALL, *where], catch_exceptions=False)
        assert table.exit_code == 0, table.output


def test_columns_turned_to_text_keep_their_names_order_and_type(db_file: Path) -> None:
    sql = """SELECT 1 AS a, '12:00:00+05'::TIMETZ AS a, '7'::VARINT AS "x""y", 2 AS b"""
    database = Database.open(db_file)
    try:
        result = run_sql(database.cursor(), sql)
    finally:
        database.close()
    assert result.table.column_names == ["a", "a", 'x"y', "b"]
    assert result.to_json()["rows"] == [[1, "12:00:00+05", "7", 2]]
    types = [field.metadata[b"duckdb.type"] for field in result.table.schema]
    assert types == [b"INTEGER", b"TIME WITH TIME ZONE", b"BIGNUM", b"INTEGER"]


def _agentlog(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it (its own process, its own imports)."""
    command = [sys.executable, "-m", "agentlog", *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def test_the_agentlog_command_reads_timestamps_and_exports_json(tmp_path: Path) -> None:
    """A real run's views: TIMESTAMP columns in the table view, --json, and export --format json."""
    db = tmp_path / "agentlog.duckdb"
    server = start_server(db=str(db))
    try:
        run_id = send_run(server.grpc_endpoint)
    finally:
        server.stop()
    shown = _agentlog("sql", "SELECT run_id, started_at, ended_at - started_at AS took FROM runs", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert run_id[:8] in shown.stdout
    every = _agentlog("sql", ALL, "--json", "--db", str(db))
    assert every.returncode == 0, every.stderr
    row = json.loads(every.stdout)["rows"][0]
    assert [row[f"c{i}"] for i in range(len(TYPES))] == [expected for _, expected in TYPES]
    for table in ("spans", "nodes", "runs"):
        target = tmp_path / f"{table}.jsonl"
        exported = _agentlog("export", "-o", str(target), "--table", table, "--format", "json", "--db", str(db))
        assert exported.returncode == 0, exported.stderr
        records = [json.loads(line) for line in target.read_text().splitlines()]
        assert records and all(record["run_id" if table != "spans" else "trace_id"] == run_id for record in records)
    runs = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert runs[0]["started_at"].startswith("20") and "T" in runs[0]["started_at"]


@pytest.mark.parametrize("days", [-800_000, -719_529, -719_528, -1, 0, 59, 10_957, 2_932_896, 106_751_991])
def test_dates_match_duckdbs_calendar(db_file: Path, days: int) -> None:
    """The proleptic Gregorian calendar, far from 1970 both ways, as DuckDB counts it."""
    database = Database.open(db_file)
    try:
        year, month, day = (
            database.cursor()
            .execute(
                "SELECT year(d), month(d), day(d) FROM (SELECT DATE '1970-01-01' + $days::INTEGER AS d)", {"days": days}
            )
            .fetchone()
        )
    finally:
        database.close()
    assert _civil(days) == (year, month, day)
