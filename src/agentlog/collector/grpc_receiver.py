"""OTLP/gRPC: ``opentelemetry.proto.collector.trace.v1.TraceService/Export`` and
``opentelemetry.proto.collector.logs.v1.LogsService/Export``, on one server.

The handler takes the raw request bytes (no deserializer in the method
handler) so that a malformed message is answered INVALID_ARGUMENT with the
decoder's own words rather than gRPC's generic INTERNAL. Errors become gRPC
codes here and only here. Both services are one ``ExportService`` each, over
the same ``Intake``: the same limits, answers and tenant rule.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from agentlog.collector.intake import Intake
from agentlog.errors import AgentlogError, Forbidden, InvalidRequest, Overloaded, PayloadTooLarge, Unauthenticated
from agentlog.proto import Signal, response_protobuf

log = logging.getLogger(__name__)

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
LOGS_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
SERVICES: dict[Signal, str] = {"traces": SERVICE, "logs": LOGS_SERVICE}
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
"""gRPC's own default receive limit, which OTel SDKs also assume."""

GRPC_CODE: dict[type[AgentlogError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    PayloadTooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Overloaded: grpc.StatusCode.UNAVAILABLE,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
}


def grpc_code(error: AgentlogError) -> grpc.StatusCode:
    """The gRPC status code for ``error``: its nearest class in ``GRPC_CODE``, else INTERNAL."""
    for cls in type(error).__mro__:
        if cls in GRPC_CODE:
            return GRPC_CODE[cls]
    return grpc.StatusCode.INTERNAL


def _retry_info(message: str, seconds: float) -> tuple[tuple[str, bytes], ...]:
    """``grpc-status-details-bin`` carrying RetryInfo, which OTel exporters honour."""
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=max(1, round(seconds))))
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message)
    status.details.add().Pack(retry)
    return (("grpc-status-details-bin", status.SerializeToString()),)


def _authorization(context: Any) -> str | None:
    """The ``authorization`` metadata, which OTel SDKs send from their headers option."""
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return str(value)
    return None


class ExportService:
    """The Export method of one signal's service, over an ``Intake``."""

    def __init__(self, intake: Intake, signal: Signal = "traces") -> None:
        self._intake = intake
        self._signal = signal

    async def export(self, body: bytes, context: Any) -> bytes:
        try:
            tenant = self._intake.tenant_for(_authorization(context))
            # gRPC has read and inflated the message already (within max_message_bytes);
            # its bytes count from here until the answer.
            with self._intake.hold() as hold:
                hold.take(len(body))
                result = await self._intake.export(body, "protobuf", tenant, hold, self._signal)
        except AgentlogError as error:
            if isinstance(error, Overloaded):
                context.set_trailing_metadata(_retry_info(error.message, error.retry_after))
            else:
                log.info("OTLP/gRPC export refused: %s", error.message)
            await context.abort(grpc_code(error), error.message)
            raise  # abort() raises; this line keeps type checkers honest
        return response_protobuf(result.rejected, result.message, self._signal)

    def handler(self) -> grpc.GenericRpcHandler:
        """A generic handler serving the Export method with raw bytes in and out."""
        method = grpc.unary_unary_rpc_method_handler(self.export)
        return grpc.method_handlers_generic_handler(SERVICES[self._signal], {"Export": method})


DEFAULT_MAX_CONCURRENT_RPCS = 1000
"""Exports in progress at once; past it gRPC answers RESOURCE_EXHAUSTED, which senders retry."""


def build_grpc_server(
    intake: Intake,
    *,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS,
) -> Any:
    """A grpc.aio server with the trace and logs services; the caller adds ports and starts it."""
    server = grpc.aio.server(
        maximum_concurrent_rpcs=max_concurrent_rpcs,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ],
    )
    server.add_generic_rpc_handlers(tuple(ExportService(intake, signal).handler() for signal in SERVICES))
    return server
