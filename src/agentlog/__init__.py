"""agentlog: an OpenTelemetry-native execution history for AI agents, on DuckDB.

Layout (data flows left to right; a module imports only from its left)::

    proto (wire bytes -> rows) -> collector (batches) -> store (DuckDB) -> query -> api / cli
"""

__version__ = "0.1.0"
