"""A tenant's SQL reads only that tenant's views: bypass attempts on a real database holding two tenants.

Each query must be refused, or answer with rows of tenant ``a`` only: never a
row, run id or marker of tenant ``b``, never a key hash, never a file's
content, never a setting of the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from agentlog.errors import InvalidRequest
from agentlog.query.sql_console import SqlResult, run_sql
from agentlog.store import Database, commit_spans
from agentlog.store.keys import create_key
from tests.factories import agent_spans, make_request, make_span, span_rows


@dataclass
class Two:
    database: Database
    secrets: list[str]  # what tenant a's admin must never see
    own_run: str  # tenant a's run id
    file: Path


def _commit(database: Database, tenant: str, marker: str, seq: int) -> str:
    spans = agent_spans(3)
    spans[0].attributes.extend(make_span(attributes={"input.value": marker}).attributes)
    cursor = database.cursor()
    commit_spans(cursor, [span_rows(make_request(spans), tenant)], seq)
    cursor.close()
    return spans[0].trace_id.hex()


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Two]:
    directory = tmp_path_factory.mktemp("two-tenants")
    secret_file = directory / "secret.csv"
    secret_file.write_text("column\nFILE-CONTENT-7f3a\n")
    database = Database.open(directory / "agentlog.duckdb")
    own_run = _commit(database, "a", "ALPHA-INPUT", 1)
    other_run = _commit(database, "b", "BRAVO-INPUT-91c2", 2)
    cursor = database.cursor()
    for tenant in ("a", "b"):
        create_key(cursor, tenant, "admin")
    hashes = [row[0] for row in cursor.execute("SELECT secret_hash FROM api_keys").fetchall()]
    temp_directory = cursor.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    cursor.close()
    secrets = [other_run, "BRAVO-INPUT-91c2", "FILE-CONTENT-7f3a", str(directory), temp_directory, *hashes]
    yield Two(database, secrets, own_run, secret_file)
    database.close()


def _run(two: Two, sql: str) -> SqlResult | InvalidRequest:
    cursor = two.database.cursor()  # a fresh cursor, as the server gives each SQL request
    try:
        return run_sql(cursor, sql.replace("{file}", str(two.file)), tenant="a", timeout=10)
    except InvalidRequest as refused:
        return refused
    finally:
        cursor.close()


LEAKS = "SELECT tenant_id, input FROM stored_spans"
BYPASSES = [
    # The example: a CTE inside EXISTS made the outer stored_spans pass.
    f"{LEAKS} WHERE EXISTS (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)",
    f"{LEAKS} WHERE 1 IN (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)",
    "SELECT (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans), * FROM stored_spans",
    f"{LEAKS}, (WITH stored_spans AS (SELECT 1 x) SELECT x FROM stored_spans) s",
    f"{LEAKS} JOIN (WITH stored_spans AS (SELECT 1 x) SELECT x FROM stored_spans) s ON true",
    f"{LEAKS}, LATERAL (WITH stored_spans AS (SELECT 1 x) SELECT x FROM stored_spans) s",
    f"{LEAKS} GROUP BY ALL HAVING EXISTS (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)",
    f"{LEAKS} ORDER BY (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)",
    f"{LEAKS} QUALIFY row_number() OVER (ORDER BY (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)) > 0",
    # A CTE body, or a recursive CTE's anchor, does not see its own name: DuckDB reads the table there.
    "WITH stored_spans AS (SELECT * FROM stored_spans) SELECT tenant_id, input FROM stored_spans",
    "WITH RECURSIVE stored_spans AS (SELECT tenant_id, input FROM stored_spans UNION ALL "
    "SELECT tenant_id, input FROM stored_spans WHERE false) SELECT * FROM stored_spans",
    "WITH x AS (SELECT * FROM y), y AS (SELECT 1) SELECT * FROM x",
    "WITH RECURSIVE y AS (SELECT * FROM api_keys), api_keys AS (SELECT 1) SELECT * FROM y",
    # Nested CTEs: an inner WITH does not reach outer or sibling queries.
    "WITH a AS (SELECT 1) SELECT * FROM (WITH api_keys AS (SELECT 1) SELECT 1) t, api_keys",
    "SELECT * FROM (WITH api_keys AS (SELECT 1) SELECT 1) UNION ALL SELECT secret_hash FROM api_keys",
    "WITH spans AS (SELECT * FROM stored_spans) SELECT tenant_id, input FROM spans",
    # A CTE named like a view, used outside its scope: the outer name is the tenant's view.
    "SELECT tenant_id, input FROM (WITH spans AS (SELECT 'b' tenant_id, 'x' input) SELECT 1), spans",
    # Qualified names never mean a CTE; a tenant may not qualify at all.
    "WITH stored_spans AS (SELECT 1) SELECT tenant_id, input FROM main.stored_spans",
    'SELECT * FROM "agentlog".main.stored_spans',
    "SELECT * FROM main.api_keys",
    "SELECT * FROM temp.main.spans",
    "SELECT * FROM system.main.duckdb_tables",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_catalog.pg_class",
    # Quoted, cased, commented, unicode spellings.
    'SELECT * FROM "stored_spans"',
    'SELECT * FROM "API_KEYS"',
    "SELECT * FROM /* spans */ stored_spans -- spans",
    "SELECT * FROM\tapi_keys",
    'WITH "api_\u212akeys" AS (SELECT 1) SELECT * FROM api_keys',  # KELVIN SIGN lower-cases to k in Python only
    "SELECT * FROM \uff53\uff50\uff41\uff4e\uff53",  # full-width "spans"
    "SELECT * FROM stored_spans\u200b",
    # Table functions, files, URLs, strings as tables.
    "SELECT * FROM query_table('stored_spans')",
    "SELECT * FROM query('SELECT * FROM stored_spans')",
    "SELECT * FROM read_text('{file}')",
    "SELECT * FROM read_csv('{file}')",
    "SELECT * FROM read_blob('{file}')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM '{file}'",
    "SELECT * FROM 'https://example.invalid/data.csv'",
    "SELECT * FROM 's3://bucket/data.parquet'",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM unnest((SELECT list(secret_hash) FROM api_keys))",
    "SELECT * FROM range((SELECT count(*) FROM stored_spans WHERE tenant_id = 'b'))",
    # SHOW, DESCRIBE, SUMMARIZE, PIVOT.
    "SHOW TABLES",
    "SHOW ALL TABLES",
    "DESCRIBE stored_spans",
    "SUMMARIZE stored_spans",
    "SELECT * FROM (SUMMARIZE SELECT * FROM api_keys)",
    "WITH api_keys AS (SELECT 1) SELECT * FROM (SUMMARIZE SELECT * FROM api_keys)",
    "PIVOT stored_spans ON tenant_id IN ('a', 'b') USING count(*)",
    "WITH stored_spans AS (SELECT * FROM spans) PIVOT stored_spans ON tenant_id IN ('a', 'b') USING count(*)",
    # Functions that reveal settings, the environment, the catalog or statistics.
    "SELECT current_setting('temp_directory')",
    "SELECT current_database()",
    "SELECT getenv('HOME')",
    "SELECT stats(tenant_id) FROM spans",
    "SELECT pg_get_viewdef('spans')",
    "SELECT json_serialize_plan('SELECT * FROM stored_spans')",
    "SELECT main.current_setting('temp_directory')",
    'SELECT "MAIN"."CURRENT_SETTING"(\'temp_directory\')',
    "SELECT count(*) FILTER (WHERE current_setting('temp_directory') IS NOT NULL) FROM spans",
    # Not a SELECT at all.
    "SET enable_external_access = true",
    "ATTACH '{file}.db' AS other",
    "COPY (SELECT * FROM spans) TO '{file}.out'",
    "PRAGMA table_info('stored_spans')",
    "CALL duckdb_settings()",
    "EXPORT DATABASE '/tmp/agentlog-export'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT 1; SELECT * FROM stored_spans",
    # Too deep to walk, too deep to parse.
    "SELECT * FROM " + "(SELECT * FROM " * 400 + "stored_spans" + ") t" * 400,
    "SELECT * FROM " + "(SELECT * FROM " * 3000 + "stored_spans" + ") t" * 3000,
    "SELECT get_block_size('agentlog')",
]

# A call qualified by a catalog, or by a schema other than the "main" DuckDB's parser writes for
# built-in syntax, is refused, whatever the function; "main." leaves the deny-list in force.
QUALIFIED_CALLS = [
    "SELECT main.getenv('HOME')",
    'SELECT "MAIN"."GETENV"(\'HOME\')',
    "SELECT main.duckdb_settings_count()",
    "SELECT system.main.current_setting('temp_directory')",
    "SELECT system.main.upper(input) FROM spans",
    "SELECT temp.main.upper(input) FROM spans",
    'SELECT "agentlog".main.upper(input) FROM spans',
    "SELECT agentlog.main.run_input(s) FROM spans s",
    "SELECT pg_catalog.upper(input) FROM spans",
    "SELECT pg_catalog.current_setting('temp_directory')",
    "SELECT information_schema.upper(input) FROM spans",
    "SELECT temp.upper(input) FROM spans",
    "SELECT spans.upper(input) FROM spans",
]

# What an analyst writes every day: DuckDB's parser writes several of these as calls of "main."
# functions (list, struct and map literals, rows, EXTRACT, trim, substring, position, lambdas).
ANALYST = [
    "SELECT date_trunc('day', started_at) AS day, count(*) FROM runs GROUP BY 1 ORDER BY 1",
    "SELECT time_bucket(INTERVAL '1 hour', start_time) AS hour, count(*) FROM spans GROUP BY ALL",
    "SELECT EXTRACT(year FROM start_time) AS year, extract('hour' FROM end_time) FROM spans",
    "SELECT [1, 2, 3] AS l, [x * 2 FOR x IN [1, 2]] AS doubled, [1, 2, 3][2:3] AS sliced",
    "SELECT unnest([1, 2]) AS n, tenant_id FROM runs",
    "SELECT {'run': run_id, 'tokens': total_tokens} AS s, (run_id, status) AS r, row(1, 'x') FROM runs",
    "SELECT MAP {'a': 1, 'b': 2} AS m, map_keys(MAP {'k': run_id}) FROM runs",
    "SELECT list_transform([1, 2], x -> x + 1), list_filter(models, m -> m IS NOT NULL) FROM runs",
    "SELECT trim(input), upper(name), substring(name FROM 1 FOR 3), position('a' IN name) FROM spans",
    "SELECT ltrim(name, 'a'), left(name, 2), length(input), concat_ws('-', name, kind) FROM spans",
    "SELECT name, row_number() OVER (PARTITION BY trace_id ORDER BY start_time) AS n FROM spans",
    "SELECT run_id, started_at FROM runs QUALIFY rank() OVER (ORDER BY started_at DESC) = 1",
    "SELECT agent, status, count(*), sum(total_tokens) FROM runs GROUP BY ALL ORDER BY ALL",
    "SELECT regexp_matches(name, '^[a-z]'), regexp_replace(name, '[aeiou]', '_', 'g') FROM spans",
    "SELECT json_extract(attributes, '$.\"gen_ai.request.model\"'), attributes->>'$.\"input.value\"' FROM spans",
    "SELECT CASE WHEN status = 'success' THEN 1 ELSE 0 END, COALESCE(output, 'none'), nullif(agent, '') FROM runs",
    "SELECT quantile_cont(duration_ms, 0.95), percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) FROM spans",
    "SELECT median(duration_ms), approx_quantile(duration_ms, 0.9), avg(duration_ms) FROM spans",
    "SELECT started_at + INTERVAL 1 DAY, ended_at - started_at, age(ended_at, started_at) FROM runs",
    "SELECT count(*) FROM spans WHERE start_time > current_date - INTERVAL '100 years' AND kind IN (0, 1, 2)",
    "SELECT strftime(started_at, '%Y-%m'), date_diff('minute', started_at, ended_at) FROM runs",
    "SELECT string_agg(name, ', ' ORDER BY name), list(DISTINCT kind), first(name), any_value(name) FROM spans",
]

# Shapes a tenant may use: they answer, with the tenant's rows only.
ALLOWED = [
    "SELECT tenant_id, input FROM spans",
    "WITH stored_spans AS (SELECT * FROM spans) SELECT tenant_id, input FROM stored_spans",
    "WITH api_keys AS (SELECT run_id FROM runs) SELECT * FROM api_keys",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT n, run_id FROM t, runs",
    "WITH x AS (SELECT 1) SELECT * FROM (WITH y AS (SELECT * FROM x) SELECT * FROM y), spans",
    'SELECT s.tenant_id, r.run_id FROM "SPANS" s JOIN runs r ON s.tenant_id = r.tenant_id',
    "SELECT * FROM 'spans'",
    "DESCRIBE SELECT * FROM spans",
    "SUMMARIZE SELECT input FROM spans",
    "PIVOT spans ON tenant_id IN ('a', 'b') USING count(*)",
    "SELECT tenant_id, count(*) OVER () FROM runs QUALIFY row_number() OVER () = 1",
    "SELECT * FROM agents",
]


def _leaked(two: Two, result: SqlResult) -> list[str]:
    shown = str(result.to_json())
    return [secret for secret in two.secrets if secret in shown]


@pytest.mark.parametrize("sql", BYPASSES, ids=[sql[:80] for sql in BYPASSES])
def test_a_bypass_attempt_is_refused_or_sees_only_its_tenant(two: Two, sql: str) -> None:
    outcome = _run(two, sql)
    if isinstance(outcome, SqlResult):
        assert _leaked(two, outcome) == []
        tenants = outcome.table.column("tenant_id").to_pylist() if "tenant_id" in outcome.table.column_names else []
        assert set(tenants) <= {"a"}


@pytest.mark.parametrize("sql", ALLOWED)
def test_a_tenant_reads_its_views_in_any_shape(two: Two, sql: str) -> None:
    outcome = _run(two, sql)
    assert isinstance(outcome, SqlResult), outcome
    assert outcome.table.num_rows > 0
    assert _leaked(two, outcome) == []
    if "tenant_id" in outcome.table.column_names:
        assert set(outcome.table.column("tenant_id").to_pylist()) == {"a"}


@pytest.mark.parametrize("sql", QUALIFIED_CALLS)
def test_a_tenant_may_not_qualify_a_call_beyond_main(two: Two, sql: str) -> None:
    outcome = _run(two, sql)
    assert isinstance(outcome, InvalidRequest), outcome
    assert "unqualified" in str(outcome) or "not allowed" in str(outcome)


@pytest.mark.parametrize("sql", ANALYST, ids=[sql[:60] for sql in ANALYST])
def test_a_tenant_runs_ordinary_analyst_sql(two: Two, sql: str) -> None:
    outcome = _run(two, sql)
    assert isinstance(outcome, SqlResult), outcome
    assert outcome.table.num_rows > 0
    assert _leaked(two, outcome) == []


@pytest.mark.parametrize("sql", ANALYST, ids=[sql[:60] for sql in ANALYST])
def test_the_operator_runs_ordinary_analyst_sql(two: Two, sql: str) -> None:
    cursor = two.database.cursor()
    try:
        assert run_sql(cursor, sql, timeout=10).table.num_rows > 0
    finally:
        cursor.close()


def test_the_operator_reads_every_table_but_no_file_url_or_extension(two: Two) -> None:
    cursor = two.database.cursor()
    try:
        keys = run_sql(cursor, "SELECT count(*) FROM api_keys")
        assert keys.table.to_pylist() == [{"count_star()": 2}]
        nested = run_sql(cursor, "SELECT count(*) FROM (WITH x AS (SELECT 1) SELECT * FROM x), stored_spans")
        assert nested.table.to_pylist() == [{"count_star()": 6}]
        for sql in (f"SELECT * FROM '{two.file}'", "SELECT * FROM 'https://example.invalid/x.csv'",
                    f"SELECT * FROM read_text('{two.file}')", "SELECT * FROM query_table('api_keys')"):  # fmt: skip
            with pytest.raises(InvalidRequest):
                run_sql(cursor, sql)
        # Past the check too, the database itself reads no file and loads no extension.
        for sql in (f"SELECT * FROM read_text('{two.file}')", "SELECT * FROM 'https://example.invalid/x.csv'"):
            with pytest.raises(duckdb.PermissionException, match=r"disabled by configuration"):
                cursor.execute(sql).fetchall()
        settings = (
            "SELECT current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
        )
        assert cursor.execute(settings).fetchone() == (False, False)
    finally:
        cursor.close()
