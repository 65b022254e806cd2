"""The one exception-to-HTTP lookup: a commit that kept conflicting on a lake is a retryable 503."""

from __future__ import annotations

import asyncio

import duckdb
import orjson
from starlette.requests import Request

from agentlog.api.errors import EXCEPTION_HANDLERS


def _request() -> Request:
    return Request({"type": "http", "method": "POST", "path": "/api/v1/executions/cleanup", "headers": []})


def _handler_for(error: Exception) -> object:
    """The handler Starlette picks: the first class of the error's MRO that has one."""
    return next(EXCEPTION_HANDLERS[cls] for cls in type(error).__mro__ if cls in EXCEPTION_HANDLERS)


def test_a_conflicting_commit_is_a_retryable_503_and_other_database_errors_a_500() -> None:
    conflict = duckdb.TransactionException("Transaction conflict - attempting to delete from table")
    response = asyncio.run(_handler_for(conflict)(_request(), conflict))  # type: ignore[operator]
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert orjson.loads(response.body)["error"]["code"] == "conflict"
    other = duckdb.ConversionException("could not convert")
    response = asyncio.run(_handler_for(other)(_request(), other))  # type: ignore[operator]
    assert response.status_code == 500
