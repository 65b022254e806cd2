"""``@agentlog.node`` and ``@agentlog.agent``: a function call as a node, sync or async, generators too.

The call's arguments become the node's input and its return value the
output (``capture_input`` / ``capture_output`` turn that off). An exception
is recorded and re-raised, as with ``with``.

Generators keep their node open from the first item to the last, but make it
current only while their own code runs: between items the caller's context
is the caller's, so a consumer's spans never nest under the producer.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace

from agentlog.exporter import attributes as a
from agentlog.exporter.recording import Node, NodeScope, node_context, run

F = TypeVar("F", bound=Callable[..., Any])
OpenScope = Callable[[tuple[Any, ...], dict[str, Any]], NodeScope]


class NodeDecorator(NodeScope):
    """What ``agentlog.node(...)`` returns: a ``with`` block, or a decorator for a function."""

    __slots__ = ("_capture_input", "_capture_output", "_given_name")

    def __init__(
        self,
        name: str | None,
        node_type: str,
        attributes: a.Attributes,
        *,
        capture_input: bool,
        capture_output: bool,
    ) -> None:
        super().__init__(name or "", node_type, attributes)
        self._given_name = name
        self._capture_input = capture_input
        self._capture_output = capture_output

    def __enter__(self) -> Node:
        if self._given_name is None:
            raise ValueError("agentlog.node() needs a name when used with `with`")
        return super().__enter__()

    def __call__(self, fn: F) -> F:
        name = self._given_name or fn.__name__
        inputs = _InputCapture(fn, self._node_type) if self._capture_input else None

        def open_scope(args: tuple[Any, ...], kwargs: dict[str, Any]) -> NodeScope:
            return self.for_call(name, inputs.value(args, kwargs) if inputs else None)

        return wrap(fn, open_scope, capture_output=self._capture_output)


@overload
def node(name: F, /) -> F: ...
@overload
def node(
    name: str | None = None,
    *,
    type: a.NodeType = "span",
    model: str | None = None,
    provider: str | None = None,
    input: Any = None,
    metadata: Mapping[str, Any] | None = None,
    attributes: Mapping[str, a.AttributeValue] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> NodeDecorator: ...
def node(
    name: str | Callable[..., Any] | None = None,
    *,
    type: a.NodeType = "span",
    model: str | None = None,
    provider: str | None = None,
    input: Any = None,
    metadata: Mapping[str, Any] | None = None,
    attributes: Mapping[str, a.AttributeValue] | None = None,
    capture_input: bool = True,
    capture_output: bool = True,
) -> Any:
    """A node under whatever span is current, as a ``with`` block or a decorator.

    ``with agentlog.node("search", type="tool") as node:``, or
    ``@agentlog.node(type="tool")`` on a function (the node is named after it),
    or bare ``@agentlog.node``. ``type`` is one of agentlog's node types
    (llm, tool, agent, retriever, embedding, chain, reranker, guardrail,
    evaluator, prompt, span); ``model`` and ``provider`` say what an LLM node calls.
    """
    if callable(name):
        return node()(name)
    attrs = a.start_attributes(
        a.check_node_type(type), name or "", model=model, provider=provider, input=input,
        metadata=metadata, extra=attributes,
    )  # fmt: skip
    return NodeDecorator(name, type, attrs, capture_input=capture_input, capture_output=capture_output)


def agent(name: str, *, capture_input: bool = True, capture_output: bool = True) -> Callable[[F], F]:
    """Decorate an agent's entry point: a run when called outside one, a sub-agent node inside one."""
    nested = NodeScope(name, "agent", a.start_attributes("agent", name))

    def decorate(fn: F) -> F:
        inputs = _InputCapture(fn, "agent") if capture_input else None

        def open_scope(args: tuple[Any, ...], kwargs: dict[str, Any]) -> NodeScope:
            value = inputs.value(args, kwargs) if inputs else None
            if trace.get_current_span().get_span_context().is_valid:
                return nested.for_call(name, value)
            return run(name, input=value)

        return wrap(fn, open_scope, capture_output=capture_output)

    return decorate


def wrap(fn: F, open_scope: OpenScope, *, capture_output: bool) -> F:
    """``fn`` recorded as a node per call; ``open_scope`` makes the call's scope from its arguments."""
    if inspect.isasyncgenfunction(fn):
        return functools.wraps(fn)(_async_generator(fn, open_scope))  # type: ignore[return-value]
    if inspect.isgeneratorfunction(fn):
        return functools.wraps(fn)(_generator(fn, open_scope))  # type: ignore[return-value]
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            with open_scope(args, kwargs) as current:
                result = await fn(*args, **kwargs)
                if capture_output and result is not None:
                    current.set_output(result)
                return result

        return call_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        with open_scope(args, kwargs) as current:
            result = fn(*args, **kwargs)
            if capture_output and result is not None:
                current.set_output(result)
            return result

    return call  # type: ignore[return-value]


def _async_generator(fn: Callable[..., AsyncGenerator[Any, Any]], open_scope: OpenScope) -> Callable[..., Any]:
    async def iterate(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        scope = open_scope(args, kwargs)
        span_context = node_context(scope.start())
        inner = fn(*args, **kwargs)
        error: BaseException | None = None
        consumer_left = False
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(span_context)
                try:
                    item = await (inner.athrow(thrown) if thrown is not None else inner.asend(sent))
                except StopAsyncIteration:
                    return
                finally:
                    otel_context.detach(token)
                sent, thrown = None, None
                try:
                    sent = yield item
                except (GeneratorExit, asyncio.CancelledError):
                    # The consumer left: closed, or cancelled while we waited at a yield (an
                    # abandoned generator is finalised so, when its event loop shuts down).
                    consumer_left = True
                    raise
                except BaseException as caught:  # noqa: BLE001 - thrown in by the consumer: pass it on to the generator
                    thrown = caught
        except BaseException as caught:
            error = caught
            raise
        finally:
            token = otel_context.attach(span_context)
            try:
                await inner.aclose()
            finally:
                otel_context.detach(token)
                scope.finish(None if consumer_left else error)

    return iterate


def _generator(fn: Callable[..., Generator[Any, Any, Any]], open_scope: OpenScope) -> Callable[..., Any]:
    def iterate(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        scope = open_scope(args, kwargs)
        span_context = node_context(scope.start())
        inner = fn(*args, **kwargs)
        error: BaseException | None = None
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(span_context)
                try:
                    item = inner.throw(thrown) if thrown is not None else inner.send(sent)
                except StopIteration as stop:
                    return stop.value
                finally:
                    otel_context.detach(token)
                sent, thrown = None, None
                try:
                    sent = yield item
                except GeneratorExit:
                    raise
                except BaseException as caught:  # noqa: BLE001 - thrown in by the consumer: pass it on to the generator
                    thrown = caught
        except BaseException as caught:
            error = caught
            raise
        finally:
            token = otel_context.attach(span_context)
            try:
                inner.close()
            finally:
                otel_context.detach(token)
                scope.finish(error)

    return iterate


class _InputCapture:
    """A call's arguments as a node's input: the one argument itself, or all of them by name."""

    def __init__(self, fn: Callable[..., Any], node_type: str) -> None:
        self._signature = inspect.signature(fn)
        parameters = list(self._signature.parameters)
        self._skip = parameters[0] if parameters and parameters[0] in ("self", "cls") else None
        self._as_mapping = node_type == "tool"  # GenAI semconv: a tool's arguments are an object

    def value(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError:
            return None  # the call itself will raise, inside the node, and be recorded
        arguments = {key: value for key, value in bound.arguments.items() if key != self._skip}
        if len(arguments) == 1 and not self._as_mapping:
            return next(iter(arguments.values()))
        return arguments or None
