"""OTLP/HTTP: ``POST /v1/traces`` and ``POST /v1/logs`` with protobuf or JSON bodies, gzip or not.

Responses use the request's content type, as the OTLP specification asks:
an ``ExportTraceServiceResponse`` (``ExportLogsServiceResponse``) on success, a
``google.rpc.Status`` on error. Both paths are one ``ExportEndpoint`` each,
over the same ``Intake`` and with the same body limits.
"""

from __future__ import annotations

import copy
import logging

import orjson
from google.rpc import status_pb2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentlog.collector.body import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    decode_content,
    read_body,
)
from agentlog.collector.grpc_receiver import grpc_code
from agentlog.collector.intake import Intake
from agentlog.errors import AgentlogError, Overloaded, UnsupportedMediaType, http_status
from agentlog.proto import Encoding, Signal, response_json, response_protobuf

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
PATHS: dict[Signal, str] = {"traces": "/v1/traces", "logs": "/v1/logs"}


def _media_type(request: Request) -> str:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if media_type == JSON:
        return JSON
    raise UnsupportedMediaType(f"Content-Type {content_type!r} is not supported; send {PROTOBUF} or {JSON}")


def _error_response(error: AgentlogError, media_type: str) -> Response:
    code = grpc_code(error).value[0]
    if media_type == JSON:
        body = orjson.dumps({"code": code, "message": error.message})
    else:
        body = status_pb2.Status(code=code, message=error.message).SerializeToString()
    headers = {}
    if isinstance(error, Overloaded):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return Response(body, status_code=http_status(error), media_type=media_type, headers=headers)


class ExportEndpoint:
    """The ``/v1/traces`` handler (``/v1/logs`` for ``signal="logs"``) over an ``Intake``, with its body limits."""

    def __init__(
        self,
        intake: Intake,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
        signal: Signal = "traces",
    ) -> None:
        self._intake = intake
        self.signal = signal
        self._body_timeout = body_timeout
        self._max_body_bytes = max_body_bytes
        self._max_decompressed_bytes = max_decompressed_bytes

    async def handle(self, request: Request) -> Response:
        media_type = JSON
        try:
            media_type = _media_type(request)
            tenant = self._intake.tenant_for(request.headers.get("authorization"))
            with self._intake.hold() as hold:  # the body's bytes, wire and inflated, until the answer
                headers = request.headers
                raw = await read_body(
                    request.stream(), headers.get("content-length"), self._max_body_bytes, self._body_timeout, hold.take
                )
                body = decode_content(raw, headers.get("content-encoding"), self._max_decompressed_bytes, hold.take)
                encoding: Encoding = "json" if media_type == JSON else "protobuf"
                result = await self._intake.export(body, encoding, tenant, hold, self.signal)
        except AgentlogError as error:
            if not isinstance(error, Overloaded):
                log.info("OTLP/HTTP export refused: %s", error.message)
            return _error_response(error, media_type)
        if media_type == JSON:
            return Response(response_json(result.rejected, result.message, self.signal), media_type=JSON)
        return Response(response_protobuf(result.rejected, result.message, self.signal), media_type=PROTOBUF)

    def for_signal(self, signal: Signal) -> ExportEndpoint:
        """The same endpoint (intake, limits) for another signal."""
        other = copy.copy(self)
        other.signal = signal
        return other


def build_http_app(endpoint: ExportEndpoint) -> Starlette:
    """The OTLP/HTTP application: ``endpoint`` with its limits on ``/v1/traces`` and ``/v1/logs``."""
    routes = [Route(path, endpoint.for_signal(signal).handle, methods=["POST"]) for signal, path in PATHS.items()]
    return Starlette(routes=routes)
