"""Every read a user has, over the real API: none may fail, whatever the database holds."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pyarrow as pa

EDGE_DATES = ("9999-12-31T23:59:59Z", "0001-01-01", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00")
"""Dates at the ends of what ISO 8601 (and Python) can say, with and without a time zone."""
VIEWS = ("spans", "nodes", "runs", "agents", "log_records")


def get(api_url: str, path: str, **params: Any) -> httpx.Response:
    response = httpx.get(api_url + path, params=params, timeout=30)
    assert response.status_code == 200, (path, params, response.status_code, response.text)
    return response


def exported(api_url: str, table: str, since: str | None = None) -> pa.Table:
    params = {"table": table} | ({"since": since} if since else {})
    response = get(api_url, "/api/v1/export", **params)
    return pa.ipc.open_stream(io.BytesIO(response.content)).read_all()


def sql(api_url: str, statement: str) -> dict[str, Any]:
    response = httpx.post(api_url + "/api/v1/sql", json={"sql": statement}, timeout=30)
    assert response.status_code == 200, (statement, response.status_code, response.text)
    result: dict[str, Any] = response.json()
    return result


def read_everything(api_url: str, run_ids: list[str]) -> dict[str, Any]:
    """Every endpoint that reads stored spans, each asserted to answer 200; what they said, for more checks."""
    seen: dict[str, Any] = {
        "history": get(api_url, "/api/v1/agents/history").json(),
        "stats": get(api_url, "/api/v1/agents/stats").json(),
        "metrics": get(api_url, "/api/v1/agents/metrics").json(),
        "logs": {run_id: get(api_url, "/api/v1/agents/logs", run_id=run_id).json() for run_id in run_ids},
        "export": {table: exported(api_url, table) for table in ("spans", "nodes", "runs")},
        "sql": {view: sql(api_url, f"SELECT * FROM {view}") for view in VIEWS},
    }
    for date in EDGE_DATES:
        get(api_url, "/api/v1/agents/history", since=date)
        get(api_url, "/api/v1/agents/history", until=date)
        for table in ("spans", "nodes", "runs"):
            exported(api_url, table, since=date)
    return seen
