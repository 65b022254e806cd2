"""Agent runs recorded with the real OpenTelemetry SDK and sent to a test server over OTLP/gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer, set_span_in_context

SECOND = 1_000_000_000
T0 = 1_763_900_000 * SECOND  # 2025-11-23T12:13:20Z


@dataclass
class Step:
    name: str
    kind: str = "llm"  # llm | tool
    seconds: float = 1.0
    fail: bool = False
    tokens: tuple[int, int] = (100, 20)
    children: list[Step] = field(default_factory=list)


@contextmanager
def sdk_tracer(endpoint: str, service: str = "sdk-agent", headers: dict[str, str] | None = None) -> Iterator[Tracer]:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=endpoint, insecure=True, headers=headers)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("tests.api")
    finally:
        provider.shutdown()


def send_run(
    endpoint: str,
    *,
    agent: str = "bug-triager",
    user: str | None = "alice",
    session: str | None = "s-1",
    start: int = T0,
    steps: list[Step] | None = None,
    input_text: str = "Process PR #42",
    output_text: str = "No issues found",
    fail_root: bool = False,
    headers: dict[str, str] | None = None,
) -> str:
    """Record one run (root agent span and its steps) and return its run_id."""
    steps = steps if steps is not None else [Step("planner"), Step("search", kind="tool"), Step("writer")]
    with sdk_tracer(endpoint, headers=headers) as tracer:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent,
            "input.value": input_text,
            "output.value": output_text,
        }
        if user:
            attributes["user.id"] = user
        if session:
            attributes["session.id"] = session
        root = tracer.start_span(f"invoke_agent {agent}", start_time=start, attributes=attributes)
        end = _record_steps(tracer, root, steps, start + SECOND // 10)
        if fail_root:
            root.set_status(Status(StatusCode.ERROR, "agent gave up"))
        root.end(end_time=end + SECOND // 10)
        return f"{root.get_span_context().trace_id:032x}"


def _record_steps(tracer: Tracer, parent: Any, steps: list[Step], start: int) -> int:
    at = start
    for step in steps:
        attributes: dict[str, Any] = {"gen_ai.operation.name": "chat" if step.kind == "llm" else "execute_tool"}
        if step.kind == "llm":
            attributes.update({"gen_ai.request.model": "gpt-4o", "gen_ai.provider.name": "openai",
                               "gen_ai.usage.input_tokens": step.tokens[0], "gen_ai.usage.output_tokens": step.tokens[1]})  # fmt: skip
        else:
            attributes["gen_ai.tool.name"] = step.name
        span = tracer.start_span(step.name, context=set_span_in_context(parent), start_time=at, attributes=attributes)
        child_end = _record_steps(tracer, span, step.children, at + 1)
        end = max(at + int(step.seconds * SECOND), child_end)
        if step.fail:
            span.record_exception(RuntimeError(f"{step.name} broke"))
            span.set_status(Status(StatusCode.ERROR, f"{step.name} broke"))
        span.end(end_time=end)
        at = end
    return at
