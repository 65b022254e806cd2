"""Runs shaped exactly as a test needs (agent, user, session, texts, model, tokens, duration), sent as OTLP/gRPC."""

from __future__ import annotations

from typing import Any

from tests.collector.test_grpc_receiver import export_raw
from tests.factories import make_request, make_span, new_trace_id

SECOND = 1_000_000_000
T0 = 1_763_900_000 * SECOND  # 2025-11-23T12:13:20Z


def send(
    endpoint: str,
    *,
    agent: str = "bug-triager",
    user: str | None = "alice",
    session: str | None = "s-1",
    start: int = T0,
    seconds: float = 1.0,
    input_text: str = "Process PR #42",
    output_text: str = "No issues found",
    model: str | None = "gpt-4o",
    tokens: tuple[int, int] = (100, 20),
    finished: bool = True,
    key: str | None = None,
) -> str:
    """One run: a root agent span (unless not ``finished``: then it is running) over one model call of
    ``model`` with ``tokens`` (or a tool call when ``model`` is None: no tokens, no cost); its run_id."""
    trace_id = new_trace_id()
    root_attributes: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                                       "input.value": input_text, "output.value": output_text}  # fmt: skip
    if user:
        root_attributes["user.id"] = user
    if session:
        root_attributes["session.id"] = session
    root = make_span(trace_id=trace_id, name=f"invoke_agent {agent}", attributes=root_attributes, start=start,
                     duration=int(seconds * SECOND))  # fmt: skip
    if model is None:
        step = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}
    else:
        step = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.provider.name": "openai",
                "gen_ai.usage.input_tokens": tokens[0], "gen_ai.usage.output_tokens": tokens[1]}  # fmt: skip
    if not finished:  # a running run's steps carry who it is for: its root has not come
        step.update({k: v for k, v in root_attributes.items() if k in ("user.id", "session.id", "gen_ai.agent.name")})
    # A running run starts with its first span: at ``start`` too.
    child = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="step", attributes=step,
                      start=start + (1 if finished else 0), duration=int(seconds * SECOND) // 2)  # fmt: skip
    spans = [root, child] if finished else [child]
    metadata = (("authorization", f"Bearer {key}"),) if key else None
    export_raw(endpoint, make_request(spans).SerializeToString(), metadata=metadata)
    return trace_id.hex()
