"""agentlog: an OpenTelemetry-native execution history for AI agents, on DuckDB.

Data flows left to right::

    proto (wire bytes -> rows) -> collector (batches) -> store (DuckDB) -> query -> api / cli

Imports go by layers, each part importing only from the layers below it
(tests/test_layers.py checks it; docs/ARCHITECTURE.md explains it)::

    errors < proto < store < collector, query, exporter < settings, api, discovery
           < server, client, console, demo < commands < cli

The collector writes through the store, so it imports it; the store never
imports the collector. Parts of one layer never import each other.

The agent side, ``agentlog.exporter``, is re-exported here: ``agentlog.configure``,
``agentlog.run``, ``agentlog.node``, ``agentlog.agent``, ``agentlog.flush``,
``agentlog.shutdown`` and the rest. It is imported on first use, so
``agentlog serve`` and the CLI do not load the OpenTelemetry SDK they do not
need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from agentlog.exporter import (
        ExportCounts,
        Node,
        NodeDecorator,
        NodeScope,
        NodeType,
        Pipeline,
        Run,
        agent,
        bind_context,
        configure,
        current_node,
        current_pipeline,
        flush,
        node,
        run,
        shutdown,
    )

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
_EXPORTER_API = frozenset(__all__)


def __getattr__(name: str) -> Any:
    if name in _EXPORTER_API:
        from agentlog import exporter  # noqa: PLC0415 - loaded on first use (see the module docstring)

        value = getattr(exporter, name)
        globals()[name] = value  # later lookups are plain module attributes, not this hook
        return value
    raise AttributeError(f"module 'agentlog' has no attribute {name!r}")
