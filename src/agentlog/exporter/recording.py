"""Runs and nodes as the agent writes them: ``with agentlog.run(...)`` and ``with run.node(...)``.

A run is a trace and its root span; a node is a span inside it. Both are
ordinary OpenTelemetry spans made current in the OTel context, so spans of
other instrumentations made meanwhile (an OpenAI call, a pydantic-ai agent)
nest under them, and asyncio tasks inherit them.

An exception leaving a node is recorded on it (an ``exception`` event,
``error.type``, status ERROR) and re-raised. So is a cancellation
(``asyncio.CancelledError``, ``KeyboardInterrupt``): the step did not
complete. A run that ends without one is marked OK: the agent's own code
finished, whatever its steps went through.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from decimal import Decimal
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode

from agentlog.exporter import attributes as a
from agentlog.exporter import semconv as k
from agentlog.exporter.pipeline import current_tracer


class Node:
    """One step of a run, wrapping the span that records it. Methods never raise on bad data."""

    __slots__ = ("_ancestors", "node_type", "span")

    def __init__(self, span: trace.Span, node_type: str, ancestors: tuple[int, ...] = ()) -> None:
        self.span = span
        """The OpenTelemetry span, for anything this class does not cover."""
        self.node_type = node_type
        self._ancestors = ancestors
        """Span ids from the run's root down to this node's parent, as far as agentlog knows them."""

    @property
    def run_id(self) -> str:
        """The run (trace) id as 32 hex digits, as the API and CLI show it."""
        return f"{self.span.get_span_context().trace_id:032x}"

    @property
    def span_id(self) -> str:
        """This node's span id as 16 hex digits."""
        return f"{self.span.get_span_context().span_id:016x}"

    def node(
        self,
        name: str,
        *,
        type: a.NodeType = "span",
        model: str | None = None,
        provider: str | None = None,
        input: Any = None,
        metadata: Mapping[str, Any] | None = None,
        attributes: Mapping[str, a.AttributeValue] | None = None,
    ) -> NodeScope:
        """A step inside this node: ``with node.node("check", type="tool") as check:``.

        It is always inside this node, and as deep inside it as the code is: its
        parent is the span current where it starts if that span is this node or
        one of its descendants (so inside ``with a.node("b"):``, ``a.node("c")``
        goes under b, as OpenTelemetry context would, in tasks and bound threads
        too), else this node itself (a node kept and started outside its own
        block, or with ``start()``, or from a thread that did not inherit the
        context). For ``run.node(...)`` every span of the run's trace counts as a
        descendant of the run. A span another instrumentation made counts as a
        descendant of the agentlog node that was current when it started.
        """
        attrs = a.start_attributes(
            a.check_node_type(type), name, model=model, provider=provider, input=input,
            metadata=metadata, extra=attributes,
        )  # fmt: skip
        return NodeScope(name, type, attrs, within=self)

    def contains(self, current: trace.SpanContext, ancestors: tuple[int, ...]) -> bool:
        """Whether the span ``current``, below ``ancestors`` (span ids), is this node or inside it."""
        own = self.span.get_span_context()
        if current.trace_id != own.trace_id:
            return False
        return current.span_id == own.span_id or own.span_id in ancestors

    def record_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cost_usd: float | Decimal | str | None = None,
        model: str | None = None,
    ) -> None:
        """Add a model call's usage: tokens (input includes cache reads and writes) and, if known, its cost in USD.

        Each call adds to what the node already reports, so a node that calls a
        model twice records both (call it from one thread at a time). Without
        ``cost_usd`` agentlog prices the tokens from the model at ingest.
        ``model`` is the model that answered, if it differs from the one asked.
        """
        known = getattr(self.span, "attributes", None) or {}
        current = known.copy() if hasattr(known, "copy") else known  # a plain dict: cheaper lookups
        updated = a.usage_attributes(
            current,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            cost_usd=cost_usd,
        )
        if model:
            updated[k.RESPONSE_MODEL] = model
        self.span.set_attributes(updated)

    def set_input(self, value: Any) -> None:
        """What this node was given: text, JSON-able data, or chat messages (``[{"role": ..., ...}]``)."""
        self.span.set_attributes(a.input_attributes(self.node_type, value))

    def set_output(self, value: Any) -> None:
        """What this node produced; for a run, the run's final output."""
        self.span.set_attributes(a.output_attributes(self.node_type, value))

    def set_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Free-form facts about this node, stored as JSON under ``metadata`` (replacing earlier ones)."""
        self.span.set_attribute(k.METADATA, a.to_text(dict(metadata))[0])

    def fail(self, message: str, *, error_type: str | None = None) -> None:
        """Mark this node failed without raising (an agent that reports a failure as a result)."""
        if error_type:
            self.span.set_attribute(k.ERROR_TYPE, error_type)
        self.span.set_status(Status(StatusCode.ERROR, message))


class Run(Node):
    """A run: the root node of a trace. ``run.node(...)`` adds its steps."""

    __slots__ = ()

    def contains(self, current: trace.SpanContext, ancestors: tuple[int, ...]) -> bool:
        """Every span of the run's trace descends from the run, its root."""
        return current.trace_id == self.span.get_span_context().trace_id


class NodeScope:
    """Starts a span on enter, makes it current, and ends it on exit. Use once, with ``with``."""

    __slots__ = (
        "_attributes", "_is_run", "_links", "_name", "_node", "_node_type", "_parent", "_token", "_within",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        node_type: str,
        attributes: a.Attributes,
        *,
        parent: Context | None = None,
        within: Node | None = None,
        is_run: bool = False,
        links: list[Link] | None = None,
    ) -> None:
        """``parent``: the context to start in (None: the current one); ``within``: the node it is a step of."""
        self._name = name
        self._node_type = node_type
        self._attributes = attributes
        self._parent = parent
        self._within = within
        self._is_run = is_run
        self._links = links
        self._node: Node | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> Node:
        node = self.start()
        self._token = otel_context.attach(node_context(node))
        return node

    def __exit__(
        self, exc_type: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
        self.finish(error)

    def start(self) -> Node:
        """Start the span without making it current (a generator attaches ``node_context(node)`` per step)."""
        current, ancestors = current_lineage()
        if self._within is not None and not self._within.contains(current, ancestors):
            # Not inside the node it was asked of: directly under that node.
            within = self._within.span.get_span_context()
            current, ancestors = within, (*self._within._ancestors, within.span_id)
            context: Context | None = trace.set_span_in_context(self._within.span)
        else:
            context = self._parent if self._within is None else None
            if context is not None:  # a run: a new trace, whatever is current here
                current, ancestors = trace.INVALID_SPAN_CONTEXT, ()
        lineage = (*ancestors, current.span_id) if current.is_valid else ()
        span = current_tracer().start_span(self._name, context=context, attributes=self._attributes, links=self._links)
        node = Run(span, self._node_type) if self._is_run else Node(span, self._node_type, lineage)
        self._node = node
        return node

    def finish(self, error: BaseException | None) -> None:
        """End the span: failed if ``error`` (not a generator closed early); a run without one is OK."""
        node = self._node
        if node is None:
            return
        span = node.span
        if error is not None and not isinstance(error, GeneratorExit):
            span.record_exception(error, escaped=True)
            span.set_attribute(k.ERROR_TYPE, a.error_type(error))
            span.set_status(Status(StatusCode.ERROR, str(error) or type(error).__name__))
        elif self._is_run:
            status = getattr(span, "status", None)
            if status is not None and status.status_code is StatusCode.UNSET:
                span.set_status(Status(StatusCode.OK))
        span.end()

    def for_call(self, name: str, value: Any) -> NodeScope:
        """A fresh scope like this one, named ``name``, with ``value`` as input (decorators, per call)."""
        attributes = dict(self._attributes)
        if name != self._name:
            attributes.update(a.name_attributes(self._node_type, name))
        if value is not None:
            attributes.update(a.input_attributes(self._node_type, value))
        return NodeScope(
            name, self._node_type, attributes, parent=self._parent, within=self._within, is_run=self._is_run,
            links=self._links,
        )  # fmt: skip


_NODE_KEY = otel_context.create_key("agentlog-node")
"""The context key of the innermost agentlog node made current, for ``current_lineage``."""


def node_context(node: Node) -> Context:
    """The current context with ``node`` as its span (and as agentlog's innermost node)."""
    return otel_context.set_value(_NODE_KEY, node, trace.set_span_in_context(node.span))


def current_lineage() -> tuple[trace.SpanContext, tuple[int, ...]]:
    """The current span and its ancestors' span ids (root first), as far as agentlog knows them.

    agentlog's own nodes know theirs. A span another instrumentation made is
    taken as a descendant of the innermost agentlog node current in the same
    context (it started there, or in a context made from it), unless it is one
    of that node's ancestors.
    """
    current = trace.get_current_span().get_span_context()
    innermost = otel_context.get_value(_NODE_KEY)
    if not current.is_valid or not isinstance(innermost, Node):
        return current, ()
    known = innermost.span.get_span_context()
    path = (*innermost._ancestors, known.span_id)
    if known.trace_id != current.trace_id:
        return current, ()
    if current.span_id in path:
        return current, path[: path.index(current.span_id)]
    return current, path


def run(
    agent: str,
    *,
    input: Any = None,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    attributes: Mapping[str, a.AttributeValue] | None = None,
) -> NodeScope:
    """Start a run of ``agent``: ``with agentlog.run("bug-triager", input=task) as run:``.

    A run is a new trace, even inside another span (a web request's, say);
    that span is linked, so the two can be found from each other.
    ``session_id`` groups the runs of one conversation; ``user_id`` says whose run it is.
    """
    attrs = a.start_attributes(
        "agent", agent, input=input, user_id=user_id, session_id=session_id, metadata=metadata, extra=attributes
    )
    enclosing = trace.get_current_span().get_span_context()
    links = [Link(enclosing)] if enclosing.is_valid else None
    return NodeScope(f"invoke_agent {agent}", "agent", attrs, parent=Context(), is_run=True, links=links)


def current_node() -> Node:
    """The node (or run) that is current here; a no-op stand-in outside any span.

    Works for spans other instrumentations made too, so a decorated function can
    ``agentlog.current_node().record_usage(...)``.
    """
    span = trace.get_current_span()
    innermost = otel_context.get_value(_NODE_KEY)
    if isinstance(innermost, Node) and innermost.span is span:
        return innermost
    _, ancestors = current_lineage()
    return Node(span, a.node_type_of(getattr(span, "attributes", None)), ancestors)
