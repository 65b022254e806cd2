"""The OpenTelemetry JS SDK as a real non-Python client, over each of its three trace exporters.

``js/send.mjs`` records a small agent trace (an ``invoke_agent`` root and a failing
``chat`` child) and exports it; the test then reads the spans back from DuckDB.
The pinned packages are in ``js/package.json``; install them with
``npm ci --prefix tests/interop/js``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerHandle

pytestmark = pytest.mark.interop

JS_DIR = Path(__file__).resolve().parent / "js"
SEND = JS_DIR / "send.mjs"
RUN_TAG_KEY = "agentlog.test.run_tag"

# Attributes of the "chat gpt-4o" span as send.mjs sets them -> their expected JSON type.
CHILD_ATTRIBUTES: dict[str, tuple[Any, set[str]]] = {
    "gen_ai.operation.name": ("chat", {"VARCHAR"}),
    "gen_ai.request.model": ("gpt-4o", {"VARCHAR"}),
    "gen_ai.usage.input_tokens": (1234, {"UBIGINT", "BIGINT"}),
    "gen_ai.usage.output_tokens": (0, {"UBIGINT", "BIGINT"}),
    "gen_ai.request.temperature": (0.25, {"DOUBLE"}),
    "gen_ai.request.stream": (True, {"BOOLEAN"}),
    "agentlog.test.cached": (False, {"BOOLEAN"}),
    "gen_ai.response.finish_reasons": (["stop", "length"], {"ARRAY"}),
}


def _node() -> str:
    if not (JS_DIR / "node_modules").is_dir():
        pytest.fail(
            f"the OpenTelemetry JS packages are not installed ({JS_DIR / 'node_modules'} is missing): "
            "run `npm ci --prefix tests/interop/js`"
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (`node`) is not on PATH; the interop tests need Node 20 or later")
    return node


def _send(protocol: str, endpoint: str, run_tag: str) -> dict[str, Any]:
    """Run send.mjs; return the ids and times it reports after a successful export."""
    # OTEL_* variables of the environment (headers, compression, timeouts) would change what is sent.
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    command = [_node(), str(SEND), "--protocol", protocol, "--endpoint", endpoint, "--run-tag", run_tag]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, (
        f"send.mjs --protocol {protocol} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    sent: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert sent["protocol"] == protocol
    assert sent["exported_spans"] == 2
    return sent


def _json_types(server: ServerHandle, span_id: int, keys: list[str]) -> dict[str, str | None]:
    columns = ", ".join(f"json_type(attributes, '$.\"{key}\"')" for key in keys)
    (row,) = server.query(f"SELECT {columns} FROM stored_spans WHERE span_id = ?", [span_id])
    return dict(zip(keys, row, strict=True))


@pytest.mark.parametrize("protocol", ["grpc", "proto", "json"])
def test_js_sdk_trace_is_stored_linked_and_typed(server: ServerHandle, protocol: str) -> None:
    endpoint = f"http://{server.grpc_endpoint}" if protocol == "grpc" else server.http_url
    run_tag = f"js-{protocol}-{uuid.uuid4().hex}"
    before = time.time_ns()
    sent = _send(protocol, endpoint, run_tag)
    after = time.time_ns()

    rows = server.query(
        f"""SELECT name, trace_id, span_id, parent_span_id, flags, kind, status_code, status_message, service_name,
                  scope_name, scope_version, start_time_unix_nano, end_time_unix_nano,
                  attributes, events, resource_attributes
           FROM stored_spans WHERE json_extract_string(attributes, '$."{RUN_TAG_KEY}"') = ?""",
        [run_tag],
    )
    columns = [
        "name", "trace_id", "span_id", "parent_span_id", "flags", "kind", "status_code", "status_message", "service_name",
        "scope_name", "scope_version", "start", "end", "attributes", "events", "resource_attributes",
    ]  # fmt: skip
    spans = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    assert sorted(spans) == ["chat gpt-4o", "invoke_agent js-triager"], rows
    assert server.span_count() == 2
    root, child = spans["invoke_agent js-triager"], spans["chat gpt-4o"]

    # Ids and times are exactly the ones the JS SDK generated, and the child hangs off the root.
    trace_id = int(sent["trace_id"], 16)
    for span, sent_span in ((root, sent["root"]), (child, sent["child"])):
        assert span["trace_id"].int == trace_id
        assert span["span_id"] == int(sent_span["span_id"], 16)
        # Nanoseconds past 2^53: strings in OTLP/JSON, fixed64 in protobuf.
        assert (span["start"], span["end"]) == (
            int(sent_span["start_time_unix_nano"]),
            int(sent_span["end_time_unix_nano"]),
        )
        # Within the run (1 s slack). The JS SDK anchors each span on Date.now() separately,
        # so a child's times may be off from its parent's by under a millisecond: not compared.
        assert before - 10**9 <= span["start"] <= span["end"] <= after + 10**9, (span["start"], span["end"])
        assert span["flags"] & 0xFF == 0x01  # W3C trace flags: sampled
        assert span["service_name"] == "js-agent"
        assert json.loads(span["resource_attributes"])["telemetry.sdk.language"] == "nodejs"
        assert (span["scope_name"], span["scope_version"]) == ("js-triager-agent", "0.3.1")
    assert root["parent_span_id"] is None
    assert child["parent_span_id"] == root["span_id"]

    # SpanKind: INTERNAL is 1 in OTLP (JS numbers it 0 internally), CLIENT is 3.
    assert (root["kind"], child["kind"]) == (1, 3)
    assert (root["status_code"], root["status_message"]) == (0, None)
    assert (child["status_code"], child["status_message"]) == (2, "model refused: rate limited")

    root_attributes = json.loads(root["attributes"])
    assert root_attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "js-triager",
        RUN_TAG_KEY: run_tag,
    }
    assert _json_types(server, root["span_id"], ["gen_ai.agent.name"]) == {"gen_ai.agent.name": "VARCHAR"}

    child_attributes = json.loads(child["attributes"])
    assert child_attributes == {RUN_TAG_KEY: run_tag, **{key: value for key, (value, _) in CHILD_ATTRIBUTES.items()}}
    types = _json_types(server, child["span_id"], list(CHILD_ATTRIBUTES))
    wrong = {key: found for key, found in types.items() if found not in CHILD_ATTRIBUTES[key][1]}
    assert not wrong, f"attributes stored with the wrong JSON type: {wrong}"
    # 1234.0 would read back as a float: an integer must stay an integer, a double a double.
    assert type(child_attributes["gen_ai.usage.input_tokens"]) is int
    assert type(child_attributes["gen_ai.request.temperature"]) is float

    assert root["events"] is None
    (event,) = json.loads(child["events"])
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "RateLimitError"
    assert event["attributes"]["exception.message"] == "429 Too Many Requests"
    assert "send.mjs" in event["attributes"]["exception.stacktrace"]
    assert [event["time_unix_nano"]] == [int(t) for t in sent["child"]["event_times_unix_nano"]]
