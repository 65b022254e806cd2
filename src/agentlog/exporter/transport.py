"""The official OTLP span exporter (gRPC or HTTP/protobuf) for resolved settings.

agentlog adds nothing to the wire: retries with back-off, ``RetryInfo`` and
``Retry-After``, TLS and compression are the OpenTelemetry exporters' own.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SpanExporter

from agentlog.exporter.settings import GRPC, ExporterSettings


def otlp_exporter(settings: ExporterSettings) -> SpanExporter:
    """An OTLP span exporter towards ``settings.endpoint`` over ``settings.protocol``."""
    headers = dict(settings.headers) if settings.headers is not None else None
    if settings.protocol == GRPC:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter  # noqa: PLC0415 - one transport's import is enough

        return GrpcExporter(endpoint=settings.endpoint, headers=headers, timeout=settings.timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter  # noqa: PLC0415

    return HttpExporter(endpoint=settings.endpoint, headers=headers, timeout=settings.timeout_s)
