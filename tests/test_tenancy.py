"""Tenants, API keys and user isolation, end to end through every transport and endpoint."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pyarrow as pa
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agentlog.cli import app
from agentlog.server import RefusedToServe, check_exposure
from agentlog.settings import Settings
from agentlog.store import Database, Keyring
from agentlog.store.keys import create_key
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request, make_span, new_trace_id

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@dataclass
class Keys:
    ingest_a: str
    ingest_b: str
    read_a: str
    read_b: str
    alice_a: str  # read key bound to user alice in tenant a
    admin_a: str
    admin_b: str


@dataclass
class World:
    server: ServerHandle
    keys: Keys
    runs: dict[str, str]  # name -> run_id

    def get(self, path: str, key: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.get(self.server.api_url + path, params=params, headers=headers, timeout=10)

    def post(self, path: str, key: str | None, body: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(self.server.api_url + path, json=body, headers=headers, timeout=10)


def _keys(db_path: Path) -> Keys:
    database = Database.open(db_path)
    cursor = database.cursor()
    made = {
        "ingest_a": create_key(cursor, "a", "ingest")[0],
        "ingest_b": create_key(cursor, "b", "ingest")[0],
        "read_a": create_key(cursor, "a", "read")[0],
        "read_b": create_key(cursor, "b", "read")[0],
        "alice_a": create_key(cursor, "a", "read", "alice")[0],
        "admin_a": create_key(cursor, "a", "admin")[0],
        "admin_b": create_key(cursor, "b", "admin")[0],
    }
    database.close()
    return Keys(**made)


def _send(server: ServerHandle, key: str, user: str, tenant_claim: str | None = None) -> str:
    trace_id = new_trace_id()
    spans = agent_spans(3, trace_id=trace_id)
    root_attributes = {"user.id": user}
    if tenant_claim:
        root_attributes["tenant_id"] = tenant_claim  # a span cannot choose its tenant
    spans[0].attributes.extend(make_span(attributes=root_attributes).attributes)
    export_raw(
        server.grpc_endpoint, make_request(spans).SerializeToString(), metadata=(("authorization", f"Bearer {key}"),)
    )
    return trace_id.hex()


@pytest.fixture
def world(db_path: Path) -> Iterator[World]:
    keys = _keys(db_path)
    server = start_server(db=str(db_path))
    runs = {
        "a_alice": _send(server, keys.ingest_a, "alice"),
        "a_bob": _send(server, keys.ingest_a, "bob", tenant_claim="b"),
        "b_carol": _send(server, keys.ingest_b, "carol", tenant_claim="a"),
    }
    try:
        yield World(server, keys, runs)
    finally:
        server.stop()


def test_the_tenant_comes_from_the_ingest_key_never_the_spans(world: World) -> None:
    rows = world.server.query("SELECT run_id, tenant_id FROM runs ORDER BY tenant_id, run_id")
    assert sorted(rows) == sorted(
        [(world.runs["a_alice"], "a"), (world.runs["a_bob"], "a"), (world.runs["b_carol"], "b")]
    )


@pytest.mark.parametrize(
    "metadata", [(), (("authorization", "Bearer al_000000000000_" + "x" * 43),), (("authorization", "nonsense"),)]
)
def test_grpc_ingest_without_a_valid_key_is_unauthenticated_and_stores_nothing(
    world: World, metadata: tuple[Any, ...]
) -> None:
    before = world.server.span_count()
    with pytest.raises(grpc.RpcError) as caught:
        export_raw(world.server.grpc_endpoint, make_request(agent_spans(2)).SerializeToString(), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert world.server.span_count() == before


def test_a_read_key_cannot_ingest(world: World) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        export_raw(world.server.grpc_endpoint, make_request(agent_spans(2)).SerializeToString(),
                   metadata=(("authorization", f"Bearer {world.keys.read_a}"),))  # fmt: skip
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_http_ingest_needs_a_key(world: World) -> None:
    body = make_request(agent_spans(2)).SerializeToString()
    assert httpx.post(world.server.http_url, content=body, headers=PROTOBUF).status_code == 401
    ok = httpx.post(
        world.server.http_url, content=body, headers={**PROTOBUF, "Authorization": f"Bearer {world.keys.ingest_b}"}
    )
    assert ok.status_code == 200


def test_the_otel_sdk_sends_its_key_with_the_headers_option(world: World) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "keyed"}))
    exporter = OTLPSpanExporter(endpoint=world.server.grpc_endpoint, insecure=True,
                                headers={"authorization": f"Bearer {world.keys.ingest_b}"})  # fmt: skip
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("invoke_agent keyed"):
        pass
    provider.shutdown()
    assert world.server.query("SELECT tenant_id FROM spans WHERE service_name = 'keyed'") == [("b",)]


def test_reads_need_a_key_and_see_only_their_tenant(world: World) -> None:
    assert world.get("/api/v1/agents/history", None).status_code == 401
    assert world.get("/api/v1/agents/history", "al_bad").status_code == 401
    a = {run["run_id"] for run in world.get("/api/v1/agents/history", world.keys.read_a).json()}
    b = {run["run_id"] for run in world.get("/api/v1/agents/history", world.keys.read_b).json()}
    assert a == {world.runs["a_alice"], world.runs["a_bob"]}
    assert b == {world.runs["b_carol"]}
    assert world.get("/healthz", None).status_code == 200  # liveness stays open


def test_another_tenants_run_is_indistinguishable_from_a_missing_one(world: World) -> None:
    other = world.get("/api/v1/agents/logs", world.keys.read_a, run_id=world.runs["b_carol"])
    missing = world.get("/api/v1/agents/logs", world.keys.read_a, run_id="0123456789abcdef0123456789abcdef")
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == missing.json()["error"]["code"]
    # a prefix of another tenant's run finds nothing either
    assert world.get("/api/v1/agents/logs", world.keys.read_a, run_id=world.runs["b_carol"][:10]).status_code == 404


def test_a_user_bound_key_sees_only_that_users_runs(world: World) -> None:
    key = world.keys.alice_a
    assert [r["run_id"] for r in world.get("/api/v1/agents/history", key).json()] == [world.runs["a_alice"]]
    assert world.get("/api/v1/agents/history", key, user_id="bob").json() == []
    assert world.get("/api/v1/agents/logs", key, run_id=world.runs["a_bob"]).status_code == 404
    assert world.get("/api/v1/agents/logs", key, run_id=world.runs["a_alice"]).status_code == 200
    stats = world.get("/api/v1/agents/stats", key, days=3650).json()
    assert stats["runs"] == 1
    metrics = world.get("/api/v1/agents/metrics", key, days=3650).json()
    assert sum(agent["runs"] for agent in metrics["agents"]) == 1


def test_stats_and_metrics_are_per_tenant(world: World) -> None:
    assert world.get("/api/v1/agents/stats", world.keys.read_b, days=3650).json()["runs"] == 1
    assert world.get("/api/v1/agents/stats", world.keys.read_a, days=3650, user_id="carol").json()["runs"] == 0
    agents_b = world.get("/api/v1/agents/metrics", world.keys.read_b, days=3650).json()["agents"]
    assert [agent["runs"] for agent in agents_b] == [1]


def test_operations_need_an_admin_key_of_the_same_tenant(world: World) -> None:
    for path, body in (("/api/v1/sql", {"sql": "SELECT 1"}), ("/api/v1/executions/cleanup", {"days": 30, "dry_run": True}),
                       ("/api/v1/keys", {"role": "read"})):  # fmt: skip
        assert world.post(path, world.keys.read_a, body).status_code == 403
        assert world.post(path, None, body).status_code == 401
    assert world.post("/api/v1/keys", world.keys.admin_a, {"tenant": "b", "role": "read"}).status_code == 403


def test_an_admins_sql_sees_only_its_tenant(world: World) -> None:
    response = world.post(
        "/api/v1/sql", world.keys.admin_a, {"sql": "SELECT tenant_id, count(*) AS n FROM runs GROUP BY 1"}
    )
    assert response.json()["rows"] == [["a", 2]]
    for sql in ("SELECT * FROM run_rollups", "SELECT * FROM stored_spans", "SELECT * FROM main.runs",
                'SELECT * FROM "agentlog".main.spans', "SELECT * FROM api_keys"):  # fmt: skip
        refused = world.post("/api/v1/sql", world.keys.admin_a, {"sql": sql})
        assert refused.status_code == 400, sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT tenant_id, input FROM stored_spans WHERE EXISTS (WITH stored_spans AS (SELECT 1) SELECT 1 FROM stored_spans)",
        "SELECT * FROM runs, (WITH api_keys AS (SELECT 1) SELECT 1), api_keys",
        "SELECT * FROM query_table('stored_spans')",
        "SELECT * FROM 'https://example.invalid/spans.csv'",
        "SHOW TABLES",
        "SELECT current_setting('temp_directory')",
    ],
)
def test_an_admins_sql_cannot_escape_its_tenant(world: World, sql: str) -> None:
    """More shapes in tests/query/test_sql_check.py; here, end to end with a tenant admin's key."""
    response = world.post("/api/v1/sql", world.keys.admin_a, {"sql": sql})
    assert response.status_code == 400, response.text
    assert world.runs["b_carol"] not in response.text
    # The same shape on the tenant's own views answers.
    own = world.post("/api/v1/sql", world.keys.admin_a,
                     {"sql": "WITH stored_spans AS (SELECT * FROM spans) SELECT DISTINCT tenant_id FROM stored_spans"})  # fmt: skip
    assert own.json()["rows"] == [["a"]]


def test_an_admins_sql_leaves_nothing_behind_for_the_next_reads(world: World) -> None:
    """The SQL console narrows the views to its tenant on its cursor; that cursor is not reused."""
    for _ in range(5):  # the reads land on the same few worker threads
        sql = world.post("/api/v1/sql", world.keys.admin_a, {"sql": "SELECT count(*) FROM runs"})
        assert sql.json()["rows"] == [[2]]
        exported = world.get("/api/v1/export", world.keys.admin_b, table="runs")
        runs = pa.ipc.open_stream(exported.content).read_all()
        assert runs.column("tenant_id").to_pylist() == ["b"]


def test_keys_are_created_listed_and_revoked_within_a_tenant(world: World) -> None:
    created = world.post("/api/v1/keys", world.keys.admin_a, {"role": "read", "label": "dashboard"})
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert world.get("/api/v1/agents/history", new_key).status_code == 200
    listed = world.get("/api/v1/keys", world.keys.admin_a).json()
    assert {key["tenant_id"] for key in listed} == {"a"}
    assert all("secret" not in json.dumps(key) and new_key not in json.dumps(key) for key in listed)
    revoke = httpx.delete(world.server.api_url + f"/api/v1/keys/{created.json()['key_id']}",
                          headers={"Authorization": f"Bearer {world.keys.admin_a}"})  # fmt: skip
    assert revoke.status_code == 204
    assert world.get("/api/v1/agents/history", new_key).status_code == 401
    # An admin of b cannot revoke a's keys: as if they did not exist.
    a_key_id = world.keys.read_a.split("_")[1]
    other = httpx.delete(
        world.server.api_url + f"/api/v1/keys/{a_key_id}", headers={"Authorization": f"Bearer {world.keys.admin_b}"}
    )
    assert other.status_code == 404


def test_the_websocket_needs_a_key_and_shows_only_its_tenant(world: World) -> None:
    base = f"ws://127.0.0.1:{world.server.running.api_port}/api/v1/agents/live"
    with pytest.raises(InvalidStatus, match=r"HTTP 403"), connect(base, open_timeout=10) as ws:
        ws.recv(timeout=10)
    with connect(f"{base}?token={world.keys.read_a}&cursor=0", open_timeout=10) as ws:
        message = json.loads(ws.recv(timeout=10))
        seen: set[str] = set()
        while True:
            message = json.loads(ws.recv(timeout=10))
            seen |= {event["run_id"] for event in message["events"]}
            if {world.runs["a_alice"], world.runs["a_bob"]} <= seen:
                break
    assert world.runs["b_carol"] not in seen


@pytest.mark.parametrize(
    "value",
    ["' OR 1=1 --", "a'; DROP TABLE stored_spans; --", '" OR ""="', "bug-triager\\' UNION SELECT * FROM api_keys --"],
)
def test_sql_injection_through_parameters_finds_nothing_and_breaks_nothing(world: World, value: str) -> None:
    key = world.keys.read_a
    for name in ("agent_id", "user_id", "session_id"):
        response = world.get("/api/v1/agents/history", key, **{name: value})
        assert response.status_code == 200 and response.json() == []
    assert world.get("/api/v1/agents/stats", key, user_id=value).json()["runs"] == 0
    assert world.get("/api/v1/agents/logs", key, run_id=value).status_code == 400
    assert world.server.span_count() == 9


@pytest.mark.parametrize(
    "payload",
    [
        {"k": "history", "s": "0 OR 1=1", "t": "00"},
        {"k": "history", "s": 1, "t": "' OR 1=1 --"},
        {"k": "history", "s": 10**30, "t": "ff" * 16},
        {"k": "logs", "o": -5},
        {"k": "history"},
        [1, 2, 3],
    ],
)
def test_crafted_cursors_are_400(world: World, payload: Any) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    response = world.get("/api/v1/agents/history", world.keys.read_a, cursor=cursor)
    assert response.status_code == 400, response.text
    logs = world.get("/api/v1/agents/logs", world.keys.read_a, run_id=world.runs["a_alice"], cursor=cursor)
    assert logs.status_code in (200, 400) and logs.status_code != 500


def test_cli_keys_and_a_key_from_the_environment(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    db = world.server.settings.db
    denied = runner.invoke(app, ["history", "--db", db])
    assert denied.exit_code == 5 and "AGENTLOG_API_KEY" in denied.stderr
    monkeypatch.setenv("AGENTLOG_API_KEY", world.keys.read_b)
    allowed = runner.invoke(app, ["history", "--db", db, "--json"])
    assert allowed.exit_code == 0 and [r["run_id"] for r in json.loads(allowed.stdout)] == [world.runs["b_carol"]]
    created = runner.invoke(
        app, ["keys", "create", "--tenant", "b", "--role", "ingest", "--db", db, "--key", world.keys.admin_b, "--json"]
    )
    assert created.exit_code == 0 and json.loads(created.stdout)["key"].startswith("al_")


def test_public_binds_need_keys_or_insecure(db_path: Path) -> None:
    public = Settings.load({"host": "0.0.0.0"}, environ={})
    with pytest.raises(RefusedToServe):
        check_exposure(public, Keyring())
    database = Database.open(db_path)
    create_key(database.cursor(), "a", "admin")
    check_exposure(public, Keyring.load(database.cursor()))  # keys configured: allowed
    database.close()
