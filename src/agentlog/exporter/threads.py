"""Carrying the current run and node into another thread.

The OpenTelemetry context lives in ``contextvars``. asyncio tasks copy it
when they are created, and so does ``asyncio.to_thread``; so nodes nest
across ``await``, ``gather`` and ``to_thread`` with no help. A plain
``threading.Thread`` or a ``ThreadPoolExecutor`` starts from an empty
context instead, and the nodes it records would start runs of their own.
``bind_context(fn)`` fixes that::

    with agentlog.run("researcher") as run:
        with ThreadPoolExecutor() as pool:
            pages = list(pool.map(agentlog.bind_context(fetch), urls))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from opentelemetry import context as otel_context

P = ParamSpec("P")
R = TypeVar("R")


def bind_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn``, running in the OpenTelemetry context current now, whichever thread calls it later.

    The returned callable may be called many times and from several threads at once.
    """
    captured = otel_context.get_current()

    @functools.wraps(fn)
    def in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        token = otel_context.attach(captured)
        try:
            return fn(*args, **kwargs)
        finally:
            otel_context.detach(token)

    return in_context
