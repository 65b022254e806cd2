"""The agent side: ``configure()``, runs and nodes, live status, embedded mode.

What an agent developer imports (re-exported from ``agentlog``)::

    import agentlog

    agentlog.configure(service_name="bug-triager")          # to `agentlog serve` on localhost:4317
    agentlog.configure(database="runs.duckdb")               # or embedded: straight into DuckDB

    with agentlog.run("bug-triager", input=task, user_id="u-1", session_id="s-1") as run:
        with run.node("planner", type="llm", model="gpt-4o") as node:
            node.record_usage(input_tokens=1200, output_tokens=80)
            node.set_output(plan)

    @agentlog.node(type="tool")
    async def search_issues(query: str) -> list[dict]: ...

    agentlog.flush()       # send what is recorded so far (a test, a serverless handler's end)
    agentlog.shutdown()    # or let interpreter exit do it, bounded by shutdown_timeout_s

Everything is built on the OpenTelemetry SDK and its official OTLP
exporters; agentlog adds the attribute conventions (``semconv``,
``attributes``), the live-status markers (``pending``), a bounded queue that
counts what it drops (``batching``), the embedded DuckDB exporter
(``embedded``) and the global provider that lets other instrumentations'
spans nest in agentlog's runs (``global_provider``). ``pipeline`` wires them.

Nothing here raises into the agent once ``configure()`` has returned: a
collector that is down costs a bounded queue, and what is lost is counted
(``Pipeline.counts()``) and logged at most once a minute.
"""

from agentlog.exporter.attributes import NodeType
from agentlog.exporter.batching import ExportCounts
from agentlog.exporter.decorators import NodeDecorator, agent, node
from agentlog.exporter.pipeline import Pipeline, configure, current_pipeline, flush, shutdown
from agentlog.exporter.recording import Node, NodeScope, Run, current_node, run
from agentlog.exporter.threads import bind_context

__all__ = [
    "ExportCounts",
    "Node",
    "NodeDecorator",
    "NodeScope",
    "NodeType",
    "Pipeline",
    "Run",
    "agent",
    "bind_context",
    "configure",
    "current_node",
    "current_pipeline",
    "flush",
    "node",
    "run",
    "shutdown",
]
