"""The Vercel AI SDK (``ai`` 6.x and 5.x) as a real sender: what its users see in the history and logs.

``js/vercel_ai.mjs`` runs the SDK with ``experimental_telemetry`` on, against the SDK's own mock
models (no network), and exports the spans the SDK itself records over OTLP/HTTP. One server takes
two runs of the script, one per protocol (JSON and protobuf), each running both SDK lines; every test
is then parametrised over (protocol, line) and reads the result through the HTTP API only.

What is asserted is how agentlog maps the SDK's ``ai.*`` spans (see ``tests/interop/fixtures`` for
the spans as sent):

* a root ``ai.generateText`` / ``ai.streamText`` / ``ai.generateObject`` span is an ``agent`` node
  named by ``ai.telemetry.functionId``; its run takes that agent, and user and session from
  ``ai.telemetry.metadata.userId`` / ``.sessionId``; an ``ai.embed`` / ``ai.embedMany`` root is a
  ``chain`` node;
* the run's input is the prompt's text (the ``prompt`` inside ``ai.prompt``, else the first user
  message's), its output the root's ``ai.response.text`` (``ai.response.object`` for generateObject);
* ``*.doGenerate`` / ``*.doStream`` are ``llm`` nodes with their model and tokens, ``*.doEmbed``
  are ``embedding`` nodes, ``ai.toolCall`` are ``tool`` nodes (name, arguments, result);
* tokens add up over the model calls only, never the roots' ``ai.usage.*`` again; cache reads
  and cache writes are counted;
* a tool that throws is a failed node in a run that goes on; a model call that throws fails the run.

Install the pinned packages with ``npm ci --prefix tests/interop/js``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerHandle, start_server

pytestmark = pytest.mark.interop

JS_DIR = Path(__file__).resolve().parent / "js"
SCRIPT = JS_DIR / "vercel_ai.mjs"
PROTOCOLS = ("json", "proto")
LINES = ("v6", "v5")
VERSIONS = {"v6": "6.0.333", "v5": "5.0.277"}
# Every trace the script makes, per line: one per scenario, and streamText's tool span on its own.
TRACES_PER_LINE = 8
MODEL = "mock-model-2026-01-15"  # ai.response.model / gen_ai.response.model, over ai.model.id "mock-model"
WEATHER_PARIS = {"city": "Paris", "forecast": "sunny", "celsius": 21}


@dataclass(frozen=True)
class Sent:
    """One run of vercel_ai.mjs: its tag and, per SDK line, each scenario's traces as the script saw them."""

    protocol: str
    run_tag: str
    lines: dict[str, Any]

    @property
    def user_id(self) -> str:
        return f"user-{self.run_tag}"

    def session_id(self, line: str) -> str:
        return f"session-{self.run_tag}-{line}"


@dataclass(frozen=True)
class Case:
    """One SDK line sent over one protocol, with what the server holds of it."""

    server: ServerHandle
    sent: Sent
    line: str

    def trace(self, scenario: str, root: str | None = None) -> str:
        """The trace id of the scenario's one trace (or of the one whose root span is named ``root``)."""
        traces = self.sent.lines[self.line]["scenarios"][scenario]
        found = [trace["trace_id"] for trace in traces if root is None or trace["root"] == root]
        assert len(found) == 1, (
            f"{scenario}: expected one trace rooted at {root or 'any span'}, the script saw {traces}"
        )
        return str(found[0])

    def run(self, scenario: str, root: str | None = None) -> dict[str, Any]:
        """The scenario's run as ``GET /api/v1/agents/history`` lists it."""
        trace_id = self.trace(scenario, root)
        runs = {run["run_id"]: run for run in history(self.server)}
        assert trace_id in runs, f"{scenario}: run {trace_id} is not in the history"
        return runs[trace_id]

    def logs(self, scenario: str, root: str | None = None) -> dict[str, Any]:
        """The scenario's run as ``GET /api/v1/agents/logs`` shows it: ``nodes`` (all but the root), ``errors``..."""
        return get(self.server, "/api/v1/agents/logs", run_id=self.trace(scenario, root), limit=2000)

    def root(self, scenario: str, root: str | None = None) -> dict[str, Any]:
        """The run's root span as the ``spans`` view reads it (the logs list only the nodes under it)."""
        trace_id = self.trace(scenario, root)
        (row,) = sql(
            self.server,
            "SELECT name, node_type, tool_name, agent_name, input, output FROM spans "
            f"WHERE trace_id = '{trace_id}' AND parent_span_id IS NULL",
        )
        return row


def get(server: ServerHandle, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api_url}{path}", params=params, timeout=10)
    assert response.status_code == 200, f"GET {path} {params}: {response.status_code} {response.text}"
    return response.json()


def history(server: ServerHandle, **filters: Any) -> list[dict[str, Any]]:
    """Every run in the history (the script's runs fit in one page), filtered as given."""
    runs: list[dict[str, Any]] = get(
        server,
        "/api/v1/agents/history",
        limit=500,
        **{key: value for key, value in filters.items() if value is not None},
    )
    return runs


def sql(server: ServerHandle, statement: str) -> list[dict[str, Any]]:
    """Rows of a read-only ``POST /api/v1/sql``, each as a dict."""
    response = httpx.post(f"{server.api_url}/api/v1/sql", json={"sql": statement}, timeout=10)
    assert response.status_code == 200, f"{statement}: {response.status_code} {response.text}"
    answer = response.json()
    names = [column["name"] for column in answer["columns"]]
    return [dict(zip(names, row, strict=True)) for row in answer["rows"]]


def node_types(logs: dict[str, Any]) -> list[tuple[str, str]]:
    """The nodes' (type, status), sorted. Not in tree order: the JS SDK dates a span's start in whole
    milliseconds (``Date.now()``, its end adds the exact duration), so siblings that the mock models run
    within one millisecond have no reliable order."""
    return sorted((node["type"], node["status"]) for node in logs["nodes"])


def model_call(logs: dict[str, Any], response_id: str) -> dict[str, Any]:
    """The model-call node that got the mock's response ``response_id`` (its ``ai.response.id``)."""
    found = [node for node in logs["nodes"] if node["attributes"].get("ai.response.id") == response_id]
    assert len(found) == 1, f"one node answered by {response_id}: {[node['id'] for node in logs['nodes']]}"
    return found[0]


def only(logs: dict[str, Any], node_type: str) -> dict[str, Any]:
    """The run's one node of this type."""
    found = [node for node in logs["nodes"] if node["type"] == node_type]
    assert len(found) == 1, f"one {node_type} node: {node_types(logs)}"
    return found[0]


def tokens(node_or_run: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The named entries of a node's or a run's ``tokens`` (a missing one shows as missing)."""
    return {key: node_or_run["tokens"].get(key, "<missing>") for key in keys}


def _node() -> str:
    if not (JS_DIR / "node_modules" / "ai").is_dir():
        pytest.fail(
            f"the Vercel AI SDK is not installed in {JS_DIR / 'node_modules'}: run `npm ci --prefix tests/interop/js`"
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (`node`) is not on PATH; the interop tests need Node 20 or later")
    return node


def _send(protocol: str, endpoint: str) -> Sent:
    """Run vercel_ai.mjs (both SDK lines) once; what it reports after a successful export."""
    run_tag = f"vercel-{protocol}-{uuid.uuid4().hex[:12]}"
    # OTEL_* variables of the environment (headers, compression, timeouts) would change what is sent.
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    command = [_node(), str(SCRIPT), "--protocol", protocol, "--endpoint", endpoint, "--run-tag", run_tag]
    command += ["--sdk", ",".join(LINES)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, (
        f"vercel_ai.mjs --protocol {protocol} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert (report["protocol"], report["run_tag"]) == (protocol, run_tag)
    for line in LINES:
        assert report["sdk"][line]["version"] == VERSIONS[line], "package-lock.json and this test disagree"
        traces = [trace for scenario in report["sdk"][line]["scenarios"].values() for trace in scenario]
        assert len(traces) == TRACES_PER_LINE, report["sdk"][line]
        assert all(re.fullmatch(r"[0-9a-f]{32}", trace["trace_id"]) for trace in traces), traces
    return Sent(protocol, run_tag, report["sdk"])


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, dict[str, Sent]]]:
    """One server, and the script run against its OTLP/HTTP port once per protocol."""
    server = start_server(db=str(tmp_path_factory.mktemp("vercel-ai") / "agentlog.duckdb"))
    try:
        yield server, {protocol: _send(protocol, server.http_url) for protocol in PROTOCOLS}
    finally:
        server.stop()


@pytest.fixture(params=[(protocol, line) for protocol in PROTOCOLS for line in LINES], ids="-".join)
def case(request: pytest.FixtureRequest, sent: tuple[ServerHandle, dict[str, Sent]]) -> Case:
    protocol, line = request.param
    server, by_protocol = sent
    return Case(server, by_protocol[protocol], line)


def test_generate_text_with_a_tool_is_an_agent_run_of_the_function_id(case: Case) -> None:
    """generateText over two steps: the run is the functionId's, with the user's prompt and the final text."""
    run = case.run("generate_text_tool")
    assert (run["agent_id"], run["status"]) == ("weather-agent", "success")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))
    # ai.prompt is {"system": ..., "prompt": ...}: the input is the prompt, not the JSON nor the system text.
    assert run["input"] == "What is the weather in Paris?"
    assert run["output"] == "It is sunny in Paris, 21°C."
    assert case.root("generate_text_tool")["node_type"] == "agent"

    logs = case.logs("generate_text_tool")
    assert (logs["agent_id"], logs["final_output"]) == ("weather-agent", "It is sunny in Paris, 21°C.")
    # The tool span is the root's child, as the two model calls are.
    assert node_types(logs) == [("llm", "completed"), ("llm", "completed"), ("tool", "completed")]
    assert [node["depth"] for node in logs["nodes"]] == [1, 1, 1]
    weather = only(logs, "tool")
    assert [model_call(logs, step)["model"] for step in ("resp-a1", "resp-a2")] == [MODEL, MODEL]
    assert weather["tool"] == "weather"
    assert json.loads(weather["input"]) == {"city": "Paris"}
    assert json.loads(weather["output"]) == WEATHER_PARIS


def test_generate_text_tokens_are_the_model_calls_sum_with_cache_reads_and_writes(case: Case) -> None:
    """Two steps of 10+12 input / 5+7 output make 22/12: the root's ai.usage.* (v6: the same sum; v5: the
    last step's) is never added again. v6 reports cache reads (4, 6) and a cache write (2) per step; v5's
    generateText spans carry no cache keys at all, so its cache counts are 0."""
    logs = case.logs("generate_text_tool")
    first, second = model_call(logs, "resp-a1"), model_call(logs, "resp-a2")
    keys = ("input", "output", "total")
    assert tokens(first, *keys) == {"input": 10, "output": 5, "total": 15}
    assert tokens(second, *keys) == {"input": 12, "output": 7, "total": 19}
    if case.line == "v6":
        assert tokens(first, "cache_read", "cache_write") == {"cache_read": 4, "cache_write": 2}
        assert tokens(second, "cache_read", "cache_write") == {"cache_read": 6, "cache_write": 0}

    run = case.run("generate_text_tool")
    cache = {"cache_read": 10, "cache_write": 2} if case.line == "v6" else {"cache_read": 0, "cache_write": 0}
    assert run["tokens"] == {"input": 22, "output": 12, **cache, "reasoning": 0, "total": 34}
    assert run["tokens_used"] == 34
    assert run["models"] == [MODEL]


def test_stream_text_is_an_agent_run_with_the_first_user_messages_text(case: Case) -> None:
    """streamText from messages: the input is the user message's text; doStream calls are llm nodes whose
    tokens (20+30 / 8+9, one cache read of 5) are counted once, not again from the root's totalUsage."""
    run = case.run("stream_text_tool", root="ai.streamText")
    assert (run["agent_id"], run["status"]) == ("weather-streamer", "success")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))
    assert run["input"] == "Is it sunny in Berlin?"
    assert run["output"] == "Berlin is sunny today, 21°C."
    assert case.root("stream_text_tool", root="ai.streamText")["node_type"] == "agent"

    logs = case.logs("stream_text_tool", root="ai.streamText")
    assert node_types(logs) == [("llm", "completed"), ("llm", "completed")]
    first, second = model_call(logs, "resp-b1"), model_call(logs, "resp-b2")
    assert [node["model"] for node in logs["nodes"]] == [MODEL, MODEL]
    keys = ("input", "output", "cache_read", "total")
    assert tokens(first, *keys) == {"input": 20, "output": 8, "cache_read": 5, "total": 28}
    assert tokens(second, *keys) == {"input": 30, "output": 9, "cache_read": 0, "total": 39}
    assert run["tokens"] == {"input": 50, "output": 17, "cache_read": 5, "cache_write": 0, "reasoning": 0, "total": 67}


def test_stream_text_tool_call_is_a_tool_node_of_its_own_trace(case: Case) -> None:
    """streamText runs its tools while the stream is consumed, in the consumer's context: consumed outside
    any span, the SDK's ai.toolCall span starts a trace of its own. It is still a tool node, of the same
    function, user and session, with its arguments and result."""
    root = case.root("stream_text_tool", root="ai.toolCall")
    assert (root["node_type"], root["tool_name"]) == ("tool", "weather")
    assert json.loads(root["input"]) == {"city": "Berlin"}
    assert json.loads(root["output"]) == {"city": "Berlin", "forecast": "sunny", "celsius": 21}
    run = case.run("stream_text_tool", root="ai.toolCall")
    assert (run["agent_id"], run["status"]) == ("weather-streamer", "success")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))
    assert run["tokens_used"] == 0


def test_generate_object_output_is_the_object(case: Case) -> None:
    """generateObject: an agent run whose output is ai.response.object; its one model call's tokens (sent as
    ai.usage.promptTokens/completionTokens and gen_ai.usage.*) counted once."""
    run = case.run("generate_object")
    assert (run["agent_id"], run["status"]) == ("recipe-extractor", "success")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))
    assert run["input"] == "Extract the recipe: pancakes need flour, milk and eggs."
    assert json.loads(run["output"]) == {"name": "Pancakes", "ingredients": ["flour", "milk", "eggs"]}
    assert case.root("generate_object")["node_type"] == "agent"

    logs = case.logs("generate_object")
    assert node_types(logs) == [("llm", "completed")]
    assert logs["nodes"][0]["model"] == MODEL
    assert tokens(logs["nodes"][0], "input", "output", "total") == {"input": 15, "output": 11, "total": 26}
    assert run["tokens"] == {"input": 15, "output": 11, "cache_read": 0, "cache_write": 0, "reasoning": 0, "total": 26}


@pytest.mark.parametrize(("scenario", "per_call"), [("embed", [3]), ("embed_many", [6, 3])])
def test_embeddings_are_a_chain_of_embedding_calls(case: Case, scenario: str, per_call: list[int]) -> None:
    """embed / embedMany: the root is a chain node, each doEmbed an embedding node of the embedding model
    whose ai.usage.tokens are its input tokens; the run counts them once (the root repeats their sum)."""
    root = case.root(scenario)
    assert root["node_type"] == "chain"
    run = case.run(scenario)
    assert (run["agent_id"], run["status"]) == ("doc-embedder", "success")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))

    logs = case.logs(scenario)
    assert node_types(logs) == [("embedding", "completed")] * len(per_call)
    assert [node["model"] for node in logs["nodes"]] == ["mock-embedding-model"] * len(per_call)
    assert sorted(node["tokens"]["input"] for node in logs["nodes"]) == sorted(per_call)
    assert (run["tokens"]["input"], run["tokens_used"]) == (sum(per_call), sum(per_call))


def test_a_tool_that_throws_is_a_failed_node_of_a_run_that_recovers(case: Case) -> None:
    """The SDK records the tool's exception on ai.toolCall and hands the model an error result; the model
    answers, the root ends with no status set: the run succeeds, with one failed tool node and its error.

    The JS SDK dates starts in whole milliseconds and ends as start + exact duration, so a fast failing
    tool can look as if it ended after the model call that followed it: the run must still succeed."""
    run = case.run("tool_error")
    spans = sql(
        case.server,
        "SELECT name, status_code, start_time, end_time FROM spans "
        f"WHERE trace_id = '{case.trace('tool_error')}' ORDER BY end_time",
    )
    assert (run["agent_id"], run["status"]) == ("flaky-tool-agent", "success"), f"spans by end time: {spans}"
    assert (run["input"], run["output"]) == (
        "What is the weather in Atlantis?",
        "Sorry, the weather service is unavailable.",
    )
    assert (run["successful_nodes"], run["failed_nodes"]) == (2, 1)

    logs = case.logs("tool_error")
    assert node_types(logs) == [("llm", "completed"), ("llm", "completed"), ("tool", "failed")]
    weather = only(logs, "tool")
    assert weather["tool"] == "weather"
    assert json.loads(weather["input"]) == {"city": "Atlantis"}
    assert weather["error"] == {"type": "Error", "message": "weather service unavailable for Atlantis"}
    assert [(error["node"], error["message"]) for error in logs["errors"]] == [
        (weather["id"], "weather service unavailable for Atlantis")
    ]
    assert run["tokens"]["input"] == 24 and run["tokens"]["output"] == 11


def test_a_model_call_that_throws_fails_the_run(case: Case) -> None:
    """The model call's exception ends both its doGenerate span and the root in error: a failed agent run
    of the function, whose failed llm node names the requested model (no response came back)."""
    run = case.run("model_error")
    assert (run["agent_id"], run["status"]) == ("broken-model-agent", "failed")
    assert (run["user_id"], run["session_id"]) == (case.sent.user_id, case.sent.session_id(case.line))
    assert run["input"] == "Say hello."
    assert run["output"] is None
    assert run["error"]["message"] == "model overloaded"
    assert case.root("model_error")["node_type"] == "agent"

    logs = case.logs("model_error")
    assert node_types(logs) == [("llm", "failed")]
    assert logs["nodes"][0]["model"] == "mock-model"
    assert logs["nodes"][0]["error"] == {"type": "Error", "message": "model overloaded"}
    assert run["tokens_used"] == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_history_filters_by_the_metadata_user_and_session(
    sent: tuple[ServerHandle, dict[str, Sent]], protocol: str
) -> None:
    """ai.telemetry.metadata.userId / sessionId are the runs' user and session: the history's filters find
    exactly the script's runs (both lines), and each line's own session."""
    server, by_protocol = sent
    script = by_protocol[protocol]

    def trace_ids(line: str) -> set[str]:
        return {trace["trace_id"] for traces in script.lines[line]["scenarios"].values() for trace in traces}

    assert {run["run_id"] for run in history(server, user_id=script.user_id)} == trace_ids("v6") | trace_ids("v5")
    for line in LINES:
        assert {run["run_id"] for run in history(server, session_id=script.session_id(line))} == trace_ids(line)
