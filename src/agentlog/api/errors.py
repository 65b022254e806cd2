"""Errors as JSON, ``{"error": {"code": ..., "message": ...}}``, with the status from ``agentlog.errors``."""

from __future__ import annotations

import logging
import re

import duckdb
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agentlog.errors import AgentlogError, http_status

log = logging.getLogger(__name__)


def error_code(error: AgentlogError) -> str:
    """``InvalidRequest`` -> ``invalid_request``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def agentlog_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentlogError)
    return error_response(http_status(exc), error_code(exc), exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 426: "upgrade_required"}.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, str(exc.detail))
    response.headers.update(exc.headers or {})  # e.g. Allow on a 405, Upgrade on a 426
    return response


async def conflict_error(request: Request, exc: Exception) -> Response:
    """A change whose commit kept conflicting with other processes' commits on a lake (each try all or
    nothing): nothing changed, and the same request may be sent again."""
    log.warning("%s %s conflicted with other writers' commits: %s", request.method, request.url.path, exc)
    message = "the store was busy with other writers' commits and nothing was changed; try again"
    response = error_response(503, "conflict", message)
    response.headers["Retry-After"] = "1"
    return response


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error serving %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "agentlog failed to answer; the server log has the details")


EXCEPTION_HANDLERS = {
    AgentlogError: agentlog_error,
    HTTPException: http_error,
    duckdb.TransactionException: conflict_error,
    Exception: unexpected_error,
}
