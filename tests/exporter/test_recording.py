"""Runs and nodes recorded with agentlog's API, read back from an embedded database (the collector's own rows)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import orjson
import pytest
from opentelemetry import trace

import agentlog
from tests.exporter.agents import (
    PLANNER_USAGE,
    WRITER_USAGE,
    embedded_rows,
    expected_triage_cost,
    pr_reviewer,
    triage,
)


def flushed(pipeline: agentlog.Pipeline) -> agentlog.Pipeline:
    assert pipeline.force_flush(timeout_s=10)
    return pipeline


def run_summary(pipeline: agentlog.Pipeline, run_id: str) -> dict[str, Any]:
    (run,) = embedded_rows(flushed(pipeline), "SELECT * FROM run_summaries WHERE run_id = ?", [run_id])
    return run


def spans_of(pipeline: agentlog.Pipeline, run_id: str) -> list[dict[str, Any]]:
    return embedded_rows(flushed(pipeline), "SELECT * FROM spans WHERE trace_id = ? ORDER BY start_time", [run_id])


def test_a_run_rolls_up_its_nodes_tokens_and_cost(embedded: agentlog.Pipeline) -> None:
    run_id = triage("Login page returns 500", user="alice", session="s-7")
    run = run_summary(embedded, run_id)
    assert (run["status"], run["agent"], run["user_id"], run["session_id"]) == (
        "success",
        "bug-triager",
        "alice",
        "s-7",
    )
    assert (run["input"], run["output"]) == ("Login page returns 500", "No issues found")
    assert (run["node_count"], run["failed_nodes"]) == (3, 0)
    input_tokens = PLANNER_USAGE["input_tokens"] + WRITER_USAGE["input_tokens"]
    output_tokens = PLANNER_USAGE["output_tokens"] + WRITER_USAGE["output_tokens"]
    assert (run["input_tokens"], run["output_tokens"], run["total_tokens"]) == (
        input_tokens,
        output_tokens,
        input_tokens + output_tokens,
    )
    assert (run["cache_read_tokens"], run["cache_write_tokens"], run["reasoning_tokens"]) == (1000, 500, 120)
    assert run["cost_usd"] == expected_triage_cost(run["started_ns"])
    assert run["cost_source"] == "computed"
    assert run["models"] == ["claude-sonnet-4", "gpt-4o"]


def test_nodes_nest_under_the_run_with_their_types_inputs_and_outputs(embedded: agentlog.Pipeline) -> None:
    run_id = triage("Login page returns 500")
    root, planner, search, writer = spans_of(embedded, run_id)
    assert root["parent_span_id"] is None
    assert (root["name"], root["node_type"], root["status_code"]) == ("invoke_agent bug-triager", "agent", 1)
    assert [s["parent_span_id"] for s in (planner, search, writer)] == [root["span_id"]] * 3
    assert [(s["name"], s["node_type"], s["model"]) for s in (planner, search, writer)] == [
        ("planner", "llm", "gpt-4o"),
        ("search", "tool", None),
        ("writer", "llm", "claude-sonnet-4"),
    ]
    assert planner["input"] == "Login page returns 500"
    assert planner["output"] == "search for similar issues, then write the triage note"
    assert search["tool_name"] == "search"
    assert orjson.loads(search["input"]) == {"query": "Login page returns 500", "attempt": 1, "fail": False}
    assert orjson.loads(search["output"]) == [{"id": 1199, "title": "Session cookie lost"}]
    assert planner["cost_usd"] == Decimal("0.0035")  # gpt-4o: $2.50/M in, $10/M out
    assert (planner["provider"], writer["provider"]) == ("openai", "anthropic")


def parents_by_name(pipeline: agentlog.Pipeline, run_id: str) -> dict[str, str]:
    """Each non-root span's name -> its parent's name (names are unique in these runs)."""
    spans = {s["span_id"]: s for s in spans_of(pipeline, run_id)}
    return {s["name"]: spans[s["parent_span_id"]]["name"] for s in spans.values() if s["parent_span_id"]}


def test_a_node_started_inside_another_nodes_block_nests_under_it(embedded: agentlog.Pipeline) -> None:
    @agentlog.node(type="tool")
    def lookup(key: str) -> str:
        with run.node("lookup_cache", type="retriever"):  # inside the decorated call: under it
            return key

    with agentlog.run("nester") as run:
        with run.node("plan") as plan:
            with run.node("plan_step"), run.node("plan_substep"):
                lookup("k")
            with plan.node("plan_check"):
                pass
        with run.node("write"):
            pass
    assert parents_by_name(embedded, run.run_id) == {
        "plan": "invoke_agent nester",
        "plan_step": "plan",
        "plan_substep": "plan_step",
        "lookup": "plan_substep",
        "lookup_cache": "lookup",
        "plan_check": "plan",
        "write": "invoke_agent nester",
    }


def test_a_nodes_step_stays_inside_it_wherever_it_is_started(embedded: agentlog.Pipeline) -> None:
    other_instrumentation = trace.get_tracer("other.instrumentation")
    with agentlog.run("keeper") as run:
        kept = run.node("kept").start()  # started, not made current (as a generator's node is)
        with kept.node("kept_step"):  # current: the run, not inside kept
            pass
        with run.node("sibling"), kept.node("kept_late_step"):  # current: a sibling of kept
            pass
        with kept.node("kept_block") as block, run.node("deeper"):
            with kept.node("kept_deep_step"):  # current: deeper, inside kept: nests there
                pass
            with other_instrumentation.start_as_current_span("chat gpt-4o"), block.node("in_llm_call"):
                pass  # another instrumentation's span inside kept_block counts as inside it
        kept.span.end()
    assert parents_by_name(embedded, run.run_id) == {
        "kept": "invoke_agent keeper",
        "kept_step": "kept",
        "sibling": "invoke_agent keeper",
        "kept_late_step": "kept",
        "kept_block": "kept",
        "deeper": "kept_block",
        "kept_deep_step": "deeper",
        "chat gpt-4o": "deeper",
        "in_llm_call": "chat gpt-4o",
    }


def test_a_kept_node_in_a_bare_thread_or_after_the_block_still_takes_its_steps(
    embedded: agentlog.Pipeline,
) -> None:
    def step_from_a_thread() -> None:
        planner.node("from_thread").start().span.end()

    with agentlog.run("holder") as run:
        with run.node("planner") as planner:
            pass
        with run.node("executor"):
            with planner.node("note_for_planner"):  # the executor is not inside the planner
                pass
            thread = threading.Thread(target=step_from_a_thread)
            thread.start()
            thread.join()
    assert parents_by_name(embedded, run.run_id) == {
        "planner": "invoke_agent holder",
        "executor": "invoke_agent holder",
        "note_for_planner": "planner",
        "from_thread": "planner",
    }


def test_tasks_and_bound_threads_inherit_the_open_node_and_bare_threads_the_run(
    embedded: agentlog.Pipeline,
) -> None:
    async def in_task() -> None:
        with run.node("task_step"):
            await asyncio.sleep(0)

    def in_thread(name: str) -> None:
        with run.node(name):
            pass

    with agentlog.run("fan-out") as run, run.node("gather"):

        async def fan_out() -> None:
            await asyncio.gather(asyncio.create_task(in_task()), asyncio.to_thread(in_thread, "to_thread_step"))

        asyncio.run(fan_out())
        bound = threading.Thread(target=agentlog.bind_context(in_thread), args=("bound_thread_step",))
        bare = threading.Thread(target=in_thread, args=("bare_thread_step",))
        for thread in (bound, bare):
            thread.start()
            thread.join()
    assert parents_by_name(embedded, run.run_id) == {
        "gather": "invoke_agent fan-out",
        "task_step": "gather",
        "to_thread_step": "gather",
        "bound_thread_step": "gather",
        "bare_thread_step": "invoke_agent fan-out",  # no context inherited: the run's own node
    }


def test_a_node_of_one_run_started_inside_another_run_stays_in_its_own(embedded: agentlog.Pipeline) -> None:
    with agentlog.run("outer") as outer, agentlog.run("inner") as inner, outer.node("outer_step"):
        pass
    assert parents_by_name(embedded, outer.run_id) == {"outer_step": "invoke_agent outer"}
    assert parents_by_name(embedded, inner.run_id) == {}


def test_a_tool_failure_the_agent_recovers_from_leaves_the_run_successful(embedded: agentlog.Pipeline) -> None:
    run_id = triage("Password reset mail never arrives", search_fails_once=True)
    run = run_summary(embedded, run_id)
    assert (run["status"], run["node_count"], run["failed_nodes"]) == ("success", 4, 1)
    assert (run["error_node"], run["error_type"]) == ("search", "tests.exporter.agents.SearchTimeout")
    failed, retried = [s for s in spans_of(embedded, run_id) if s["name"] == "search"]
    assert (failed["status_code"], failed["error_message"], retried["status_code"]) == (
        2,
        "issue tracker did not answer",
        0,
    )
    (event,) = orjson.loads(failed["events"])
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "tests.exporter.agents.SearchTimeout"
    assert event["attributes"]["exception.escaped"] == "True"
    assert "Traceback" in event["attributes"]["exception.stacktrace"]


def test_an_exception_leaving_a_node_is_recorded_on_it_and_on_the_run_and_reraised(
    embedded: agentlog.Pipeline,
) -> None:
    with pytest.raises(RuntimeError, match="guardrail"):
        triage("Sessions expire after 5 minutes", crash=True)
    (run,) = embedded_rows(flushed(embedded), "SELECT * FROM run_summaries")
    assert (run["status"], run["error_node"], run["error_type"]) == ("failed", "writer", "RuntimeError")
    assert run["error_message"] == "writer output rejected by the guardrail"
    assert run["output"] is None
    root, *_, writer = spans_of(embedded, run["run_id"])
    assert (root["status_code"], writer["status_code"]) == (2, 2)
    assert writer["total_tokens"] == 2300  # usage recorded before the failure is kept


def test_fail_marks_a_node_failed_without_raising(embedded: agentlog.Pipeline) -> None:
    with agentlog.run("checker") as run:
        with run.node("lint", type="guardrail") as node:
            node.fail("3 secrets found in the diff", error_type="SecretsFound")
        run.fail("refused to merge")
    summary = run_summary(embedded, run.run_id)
    assert (summary["status"], summary["error_node"], summary["error_type"]) == ("failed", "lint", "SecretsFound")
    lint = spans_of(embedded, run.run_id)[1]
    assert (lint["node_type"], lint["error_message"]) == ("guardrail", "3 secrets found in the diff")


def test_async_agent_and_tools_decorated(embedded: agentlog.Pipeline) -> None:
    assert asyncio.run(pr_reviewer(42)) == "approve"
    (run,) = embedded_rows(flushed(embedded), "SELECT * FROM run_summaries")
    assert (run["agent"], run["status"], run["input"], run["output"]) == ("pr-reviewer", "success", "42", "approve")
    assert (run["node_count"], run["total_tokens"]) == (3, 550)
    root, *nodes = spans_of(embedded, run["run_id"])
    assert sorted((n["name"], n["node_type"], n["parent_span_id"] == root["span_id"]) for n in nodes) == [
        ("fetch_diff", "tool", True),
        ("fetch_diff", "tool", True),
        ("review", "llm", True),
    ]
    assert {orjson.loads(n["input"])["pr"] for n in nodes if n["name"] == "fetch_diff"} == {42, 43}
    assert next(n for n in nodes if n["name"] == "review")["input"] == "diff of #42 diff of #43"


def test_an_agent_called_inside_a_run_is_a_sub_agent_node(embedded: agentlog.Pipeline) -> None:
    with agentlog.run("release-manager") as run:
        asyncio.run(pr_reviewer(7))
    root, sub_agent, *steps = spans_of(embedded, run.run_id)
    assert (sub_agent["name"], sub_agent["node_type"], sub_agent["agent_name"]) == (
        "pr-reviewer",
        "agent",
        "pr-reviewer",
    )
    assert sub_agent["parent_span_id"] == root["span_id"]
    assert {s["parent_span_id"] for s in steps} == {sub_agent["span_id"]}
    assert run_summary(embedded, run.run_id)["agent"] == "release-manager"


def test_generators_keep_their_node_open_but_not_current_between_items(embedded: agentlog.Pipeline) -> None:
    @agentlog.node(type="retriever")
    def pages(count: int) -> Iterator[int]:
        for page in range(count):
            with agentlog.node("fetch_page", type="tool"):
                yield page

    @agentlog.node(type="retriever")
    async def chunks(count: int) -> AsyncIterator[int]:
        for chunk in range(count):
            await asyncio.sleep(0)
            with agentlog.node("read_chunk", type="tool"):
                pass
            yield chunk

    async def consume_chunks() -> list[int]:
        seen = []
        async for chunk in chunks(2):
            with agentlog.node("consumer_async"):
                seen.append(chunk)
        return seen

    with agentlog.run("reader") as run:
        consumed = []
        for page in pages(3):
            with agentlog.node("consumer"):
                consumed.append(page)
        assert asyncio.run(consume_chunks()) == [0, 1]
    assert consumed == [0, 1, 2]
    spans = {s["span_id"]: s for s in spans_of(embedded, run.run_id)}
    parent_name = {s["name"]: spans[s["parent_span_id"]]["name"] for s in spans.values() if s["parent_span_id"]}
    assert parent_name == {
        "pages": "invoke_agent reader",
        "fetch_page": "pages",
        "consumer": "invoke_agent reader",
        "chunks": "invoke_agent reader",
        "read_chunk": "chunks",
        "consumer_async": "invoke_agent reader",
    }
    generator = next(s for s in spans.values() if s["name"] == "pages")
    last_fetch = max(s["end_time"] for s in spans.values() if s["name"] == "fetch_page")
    assert generator["end_time"] >= last_fetch  # open until the last item was taken


def test_a_generator_left_early_is_not_a_failure(embedded: agentlog.Pipeline) -> None:
    @agentlog.node
    def numbers() -> Iterator[int]:
        yield from range(100)

    @agentlog.node
    async def tokens() -> AsyncIterator[str]:
        for token in ("Se", "ss", "ion", " cookie", " lost"):
            yield token

    async def stream() -> None:
        async for token in tokens():
            if token == "ion":
                break  # never closed: asyncio finalises it when its loop shuts down

    with agentlog.run("sampler") as run:
        for number in numbers():
            if number == 3:
                break
        asyncio.run(stream())
    _, *generators = spans_of(embedded, run.run_id)
    assert sorted((g["name"], g["status_code"]) for g in generators) == [("numbers", 0), ("tokens", 0)]


def test_a_run_inside_another_span_starts_a_new_trace_linked_to_it(embedded: agentlog.Pipeline) -> None:
    with (
        trace.get_tracer("web.framework").start_as_current_span("POST /triage") as request,
        agentlog.run("triager") as run,
    ):
        pass
    request_context = request.get_span_context()
    assert run.run_id != f"{request_context.trace_id:032x}"
    (root,) = spans_of(embedded, run.run_id)
    (link,) = orjson.loads(root["links"])
    assert (link["trace_id"], link["span_id"]) == (
        f"{request_context.trace_id:032x}",
        f"{request_context.span_id:016x}",
    )


def test_metadata_messages_and_extra_attributes_are_kept(embedded: agentlog.Pipeline) -> None:
    messages = [{"role": "user", "content": "Is PR #42 safe?"}]
    temperature = {"gen_ai.request.temperature": 0.2}
    with (
        agentlog.run("bug-triager", metadata={"pr": 42, "repo": "acme/api"}) as run,
        run.node("planner", type="llm", model="gpt-4o", input=messages, attributes=temperature) as node,
    ):
        node.set_output([{"role": "assistant", "content": "Yes"}])
        node.set_metadata({"attempt": 2})
        node.record_usage(input_tokens=10, output_tokens=2)
        node.record_usage(input_tokens=5, output_tokens=1, cost_usd=Decimal("0.1"), model="gpt-4o-2024-08-06")
        node.record_usage(cost_usd=0.2)
    root, planner = spans_of(embedded, run.run_id)
    assert orjson.loads(orjson.loads(root["attributes"])["metadata"]) == {"pr": 42, "repo": "acme/api"}
    attributes = orjson.loads(planner["attributes"])
    assert orjson.loads(attributes["gen_ai.input.messages"]) == messages
    assert orjson.loads(planner["output"]) == [{"role": "assistant", "content": "Yes"}]
    assert attributes["gen_ai.request.temperature"] == 0.2
    assert orjson.loads(attributes["metadata"]) == {"attempt": 2}
    # usage adds up over calls; the reported cost wins over pricing, summed exactly
    assert (planner["input_tokens"], planner["output_tokens"]) == (15, 3)
    assert (planner["cost_usd"], planner["cost_source"], planner["model"]) == (
        Decimal("0.3"),
        "reported",
        "gpt-4o-2024-08-06",
    )


def test_values_that_are_not_json_are_recorded_as_text(embedded: agentlog.Pipeline) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque handle>"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with agentlog.run("odd", input={"handle": Opaque(), "ids": {3}}) as run:
        run.set_output(Broken())
    (root,) = spans_of(embedded, run.run_id)
    assert orjson.loads(root["input"]) == {"handle": "<Opaque handle>", "ids": [3]}
    assert root["output"].startswith("<unprintable")


def test_outside_any_run_current_node_is_a_harmless_stand_in(embedded: agentlog.Pipeline) -> None:
    node = agentlog.current_node()
    node.record_usage(input_tokens=1)
    node.set_output("nothing")
    assert node.run_id == "0" * 32


def test_unknown_node_types_and_unnamed_with_blocks_are_refused(embedded: agentlog.Pipeline) -> None:
    with pytest.raises(ValueError, match="unknown node type 'tools'"):
        agentlog.node("search", type="tools")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a name"), agentlog.node(type="tool"):
        pass
