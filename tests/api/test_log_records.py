"""Log records over the real API: tenants in SQL and export, and each node's records in the logs endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import pyarrow as pa
import pytest

from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.collector.test_grpc_receiver import export_raw
from tests.collector.test_logs_ingest import export_logs_raw, logs_url, make_logs_request, make_record
from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request, make_span, new_span_id

PROTOBUF = {"Content-Type": "application/x-protobuf"}
T0 = 1_780_000_000 * 10**9


@dataclass
class Tenants:
    server: ServerHandle
    keys: dict[str, str]

    def post(self, path: str, key: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(self.server.api_url + path, json=body, headers=_bearer(key), timeout=10)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def tenants(db_path: Path) -> Iterator[Tenants]:
    database = Database.open(db_path)
    cursor = database.cursor()
    keys = {name: create_key(cursor, tenant, role)[0]
            for name, tenant, role in (("ingest_a", "a", "ingest"), ("ingest_b", "b", "ingest"),
                                       ("read_a", "a", "read"), ("admin_a", "a", "admin"))}  # fmt: skip
    database.close()
    server = start_server(db=str(db_path))
    try:
        yield Tenants(server, keys)
    finally:
        server.stop()


def test_log_records_take_the_tenant_of_the_key_and_sql_sees_only_its_own(tenants: Tenants) -> None:
    server, keys = tenants.server, tenants.keys
    body_a = make_logs_request([make_record(body="of a", attributes={"tenant_id": "b"})]).SerializeToString()
    export_logs_raw(server.grpc_endpoint, body_a, metadata=(("authorization", f"Bearer {keys['ingest_a']}"),))
    body_b = make_logs_request([make_record(body="of b")]).SerializeToString()
    assert httpx.post(logs_url(server), content=body_b, headers={**PROTOBUF, **_bearer(keys["ingest_b"])}).is_success

    # Ingest needs an ingest key, as for traces.
    assert httpx.post(logs_url(server), content=body_b, headers=PROTOBUF).status_code == 401
    assert (
        httpx.post(logs_url(server), content=body_b, headers={**PROTOBUF, **_bearer(keys["read_a"])}).status_code == 403
    )
    with pytest.raises(grpc.RpcError) as caught:
        export_logs_raw(server.grpc_endpoint, body_b)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

    sql = tenants.post("/api/v1/sql", keys["admin_a"], {"sql": "SELECT tenant_id, body FROM log_records"})
    assert sql.json()["rows"] == [["a", '"of a"']]
    for refused in ("SELECT * FROM stored_log_records", "SELECT * FROM main.log_records"):
        assert tenants.post("/api/v1/sql", keys["admin_a"], {"sql": refused}).status_code == 400, refused
    exported = httpx.get(server.api_url + "/api/v1/export", params={"table": "log_records"},
                         headers=_bearer(keys["admin_a"]), timeout=10)  # fmt: skip
    assert pa.ipc.open_stream(exported.content).read_all().column("body").to_pylist() == ['"of a"']


def _run_with_log_records(server: ServerHandle) -> tuple[str, list[bytes]]:
    """A run of a root and four children, and log records of three of the children; (run id, child span ids)."""
    spans = agent_spans(5)
    trace_id, root = spans[0].trace_id, spans[0]
    spans[4].attributes.extend(make_span(attributes={"input.value": "its own prompt"}).attributes)
    for i, span in enumerate(spans):
        span.start_time_unix_nano, span.end_time_unix_nano = T0 + i, T0 + 10**9
    export_raw(server.grpc_endpoint, make_request(spans).SerializeToString())
    children = [span.span_id for span in spans[1:]]
    details = "gen_ai.client.inference.operation.details"
    input_messages = [{"role": "user", "parts": [{"type": "text", "content": "Summarise"}]}]
    records = [
        # Child 0: the current conventions' one event with both message lists, and a plain log line.
        make_record(trace_id=trace_id, span_id=children[0], time_ns=T0 + 5, event_name=details,
                    attributes={"gen_ai.input.messages": input_messages, "gen_ai.output.messages": "Done."}),
        make_record(trace_id=trace_id, span_id=children[0], time_ns=T0 + 3, body="calling the model", severity=17),
        # Child 1: the older per-message events.
        make_record(trace_id=trace_id, span_id=children[1], time_ns=T0 + 6, event_name="gen_ai.system.message",
                    body={"content": "Be brief."}),
        make_record(trace_id=trace_id, span_id=children[1], time_ns=T0 + 7, event_name="gen_ai.user.message",
                    body={"content": "Hello?"}),
        make_record(trace_id=trace_id, span_id=children[1], time_ns=T0 + 8, event_name="gen_ai.choice",
                    body={"index": 0, "finish_reason": "stop", "message": {"content": "Hi."}}),
        # Child 3 has an input of its own: the event does not replace it, but gives the missing output.
        make_record(trace_id=trace_id, span_id=children[3], time_ns=T0 + 9, event_name=details,
                    attributes={"gen_ai.input.messages": "not this", "gen_ai.output.messages": "this"}),
        # Records of the root (not a node), of no span, and of a span the run does not have: on no node.
        make_record(trace_id=trace_id, span_id=root.span_id, body="root"),
        make_record(trace_id=trace_id, body="no span"),
        make_record(trace_id=trace_id, span_id=new_span_id(), body="unknown span"),
    ]  # fmt: skip
    export_logs_raw(server.grpc_endpoint, make_logs_request(records).SerializeToString())
    return trace_id.hex(), children


def test_each_node_shows_its_log_records_and_takes_its_messages_from_them(server: ServerHandle) -> None:
    run_id, children = _run_with_log_records(server)
    response = httpx.get(server.api_url + "/api/v1/agents/logs", params={"run_id": run_id}, timeout=10)
    assert response.status_code == 200
    nodes = {node["span_id"]: node for node in response.json()["nodes"]}
    first, second, third, fourth = (nodes[span_id.hex()] for span_id in children)

    assert [(r["time"], r["severity_text"], r["severity_number"], r["event_name"], r["body"]) for r in first["log_records"]] == [
        ("2026-05-28T20:26:40.000Z", "ERROR", 17, None, "calling the model"),
        ("2026-05-28T20:26:40.000Z", "INFO", 9, "gen_ai.client.inference.operation.details", None),
    ]  # fmt: skip
    assert first["log_records"][1]["attributes"]["gen_ai.output.messages"] == "Done."
    assert orjson.loads(first["input"]) == [{"role": "user", "parts": [{"type": "text", "content": "Summarise"}]}]
    assert first["output"] == "Done."

    assert orjson.loads(second["input"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello?"},
    ]
    assert orjson.loads(second["output"]) == {"index": 0, "finish_reason": "stop", "message": {"content": "Hi."}}
    assert [record["event_name"] for record in second["log_records"]] == [
        "gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice",
    ]  # fmt: skip

    # No records: the field is there, empty, and nothing else changes.
    assert third["log_records"] == []
    assert third["input"] is None and third["output"] is None
    assert (fourth["input"], fourth["output"]) == ("its own prompt", "this")
    shown = sum(len(node["log_records"]) for node in nodes.values())
    assert shown == 6  # the root's, the span-less and the unknown span's records are on no node
    # Every field a node had before is still there.
    assert {"id", "type", "input", "output", "time", "status", "span_id", "events", "tokens"} <= set(first)


def test_the_openapi_document_describes_log_records(server: ServerHandle) -> None:
    spec = httpx.get(server.api_url + "/openapi.json", timeout=10).json()
    logs = spec["paths"]["/api/v1/agents/logs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    record = logs["properties"]["nodes"]["items"]["properties"]["log_records"]["items"]
    assert set(record["required"]) == {"time", "severity_text", "severity_number", "event_name", "body", "attributes"}
