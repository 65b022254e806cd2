"""The read side: history, sessions, facets, logs, stats, metrics and live events over the store.

Every function takes a DuckDB cursor and a ``Scope`` (tenant, optional user)
and returns dicts that ``orjson`` writes as JSON, so the API and the CLI show the
same thing. Logs' nodes are JSON already (``orjson.Fragment``): ``as_values``
decodes them for callers that want Python values.
"""

from agentlog.query.facets import FacetsQuery, list_facets
from agentlog.query.history import HistoryPage, HistoryQuery, list_runs
from agentlog.query.logs import LogsQuery, as_values, run_logs
from agentlog.query.metrics import MetricsQuery, agent_metrics
from agentlog.query.reader import Reader
from agentlog.query.run_order import RunOrder, order_of
from agentlog.query.scope import LOCAL, Scope
from agentlog.query.sessions import SessionsPage, SessionsQuery, list_sessions, session_detail
from agentlog.query.stats import StatsQuery, run_stats

__all__ = [
    "LOCAL",
    "FacetsQuery",
    "HistoryPage",
    "HistoryQuery",
    "LogsQuery",
    "MetricsQuery",
    "Reader",
    "RunOrder",
    "Scope",
    "SessionsPage",
    "SessionsQuery",
    "StatsQuery",
    "agent_metrics",
    "as_values",
    "list_facets",
    "list_runs",
    "list_sessions",
    "order_of",
    "run_logs",
    "run_stats",
    "session_detail",
]
