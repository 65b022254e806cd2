"""The read side: history, logs, stats, metrics and live events over the store.

Every function takes a DuckDB cursor and a ``Scope`` (tenant, optional user)
and returns dicts that ``orjson`` writes as JSON, so the API and the CLI show the
same thing. Logs' nodes are JSON already (``orjson.Fragment``): ``as_values``
decodes them for callers that want Python values.
"""

from agentlog.query.history import HistoryPage, HistoryQuery, list_runs
from agentlog.query.logs import LogsQuery, as_values, run_logs
from agentlog.query.metrics import MetricsQuery, agent_metrics
from agentlog.query.reader import Reader
from agentlog.query.scope import LOCAL, Scope
from agentlog.query.stats import StatsQuery, run_stats

__all__ = [
    "LOCAL",
    "HistoryPage",
    "HistoryQuery",
    "LogsQuery",
    "MetricsQuery",
    "Reader",
    "Scope",
    "StatsQuery",
    "agent_metrics",
    "as_values",
    "list_runs",
    "run_logs",
    "run_stats",
]
