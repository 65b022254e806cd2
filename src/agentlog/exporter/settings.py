"""What ``configure()`` was told, resolved once into a frozen object.

Precedence for every field: the argument to ``configure()``, then the
standard OpenTelemetry variable for traces (``OTEL_EXPORTER_OTLP_TRACES_*``),
then the general one (``OTEL_EXPORTER_OTLP_*``), then the default below.

This module is the only place the exporter reads the environment. What it
does not resolve (TLS certificates, compression, the export timeout,
``OTEL_RESOURCE_ATTRIBUTES``) the OpenTelemetry SDK and its OTLP exporters
read themselves, exactly as they would without agentlog.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from opentelemetry.util.re import parse_env_headers

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
PROTOCOLS = (GRPC, HTTP_PROTOBUF)

# The Python SDK's default transport is gRPC (the OTel spec's is HTTP): agentlog
# follows Python, and `agentlog serve` listens for both.
DEFAULT_PROTOCOL = GRPC
DEFAULT_ENDPOINTS = {GRPC: "http://localhost:4317", HTTP_PROTOBUF: "http://localhost:4318"}
HTTP_TRACES_PATH = "/v1/traces"

DEFAULT_MAX_QUEUE_SIZE = 2048
"""Spans (and markers) waiting for export before new ones are dropped: the SDK's default,
a few MiB at most; an agent records tens of spans a second, so a minute's outage fits."""

DEFAULT_MAX_EXPORT_BATCH_SIZE = 512
"""Spans per export request: the SDK's default."""

DEFAULT_SCHEDULE_DELAY_MS = 1000.0
"""How often queued spans are sent. The SDK waits 5 s; a second keeps live status live."""

DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0
"""How long shutting down (and so the process's exit) may spend sending what is queued."""

API_KEY_HEADER = "authorization"

Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class ExporterSettings:
    """The resolved configuration of one ``configure()`` call."""

    service_name: str | None = None
    protocol: str = DEFAULT_PROTOCOL
    endpoint: str = DEFAULT_ENDPOINTS[DEFAULT_PROTOCOL]
    """gRPC: a URL whose scheme says TLS (https) or not (http). HTTP: the full /v1/traces URL."""
    headers: tuple[tuple[str, str], ...] | None = None
    """None: the OTLP exporter reads ``OTEL_EXPORTER_OTLP_*HEADERS`` itself."""
    timeout_s: float | None = None
    """None: the OTLP exporter's own (``OTEL_EXPORTER_OTLP_TIMEOUT``, else 10 s)."""
    database: str | None = None
    """Embedded mode: a DuckDB file (or ``:memory:``) instead of a collector."""
    pending_spans: bool = True
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    max_export_batch_size: int = DEFAULT_MAX_EXPORT_BATCH_SIZE
    schedule_delay_ms: float = DEFAULT_SCHEDULE_DELAY_MS
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    conventions: str | None = None
    """Embedded mode: a conventions file (agentlog.proto.conventions_file), read before the built-in keys."""

    @property
    def destination(self) -> str:
        """Where spans go, for messages: the database path or the endpoint."""
        return f"database {self.database}" if self.database is not None else f"{self.protocol} {self.endpoint}"


def load_settings(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    api_key: str | None = None,
    timeout_s: float | None = None,
    database: str | None = None,
    pending_spans: bool | None = None,
    max_queue_size: int | None = None,
    max_export_batch_size: int | None = None,
    schedule_delay_ms: float | None = None,
    shutdown_timeout_s: float | None = None,
    environ: Mapping[str, str] | None = None,
    conventions: str | None = None,
) -> ExporterSettings:
    """Arguments, then the environment, then defaults; ValueError naming what is wrong."""
    env = Environment(os.environ if environ is None else environ)
    chosen_protocol = (protocol or env.otlp("PROTOCOL") or DEFAULT_PROTOCOL).strip().lower()
    if chosen_protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {chosen_protocol!r}")
    api_key = api_key or env.get("AGENTLOG_API_KEY")
    queue = _positive("max_queue_size", DEFAULT_MAX_QUEUE_SIZE, max_queue_size, env.int("OTEL_BSP_MAX_QUEUE_SIZE"))
    batch = _positive(
        "max_export_batch_size",
        min(DEFAULT_MAX_EXPORT_BATCH_SIZE, queue),
        max_export_batch_size,
        env.int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
    )
    if batch > queue:
        raise ValueError(f"max_export_batch_size ({batch}) must not exceed max_queue_size ({queue})")
    if timeout_s is not None and timeout_s <= 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
    return ExporterSettings(
        service_name=service_name or env.get("OTEL_SERVICE_NAME"),
        protocol=chosen_protocol,
        endpoint=_endpoint(chosen_protocol, endpoint, env),
        headers=_headers(headers, api_key, env),
        timeout_s=timeout_s,
        database=database,
        pending_spans=pending_spans if pending_spans is not None else env.flag("AGENTLOG_PENDING_SPANS", True),
        max_queue_size=queue,
        max_export_batch_size=batch,
        schedule_delay_ms=_positive(
            "schedule_delay_ms", DEFAULT_SCHEDULE_DELAY_MS, schedule_delay_ms, env.int("OTEL_BSP_SCHEDULE_DELAY")
        ),
        shutdown_timeout_s=_positive("shutdown_timeout_s", DEFAULT_SHUTDOWN_TIMEOUT_S, shutdown_timeout_s),
        conventions=conventions or env.get("AGENTLOG_CONVENTIONS"),
    )


class Environment:
    """Typed reads of the variables this module knows; blank counts as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def otlp(self, suffix: str) -> str | None:
        """``OTEL_EXPORTER_OTLP_TRACES_<suffix>``, else ``OTEL_EXPORTER_OTLP_<suffix>``."""
        return self.get(f"OTEL_EXPORTER_OTLP_TRACES_{suffix}") or self.get(f"OTEL_EXPORTER_OTLP_{suffix}")

    def int(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        return default if value is None else value.lower() in ("1", "true", "yes", "on")


def _endpoint(protocol: str, given: str | None, env: Environment) -> str:
    if protocol == GRPC:
        # A gRPC endpoint is host:port; OTel reads TLS or not from a URL scheme,
        # and without one the SDK would try TLS against a plaintext collector.
        url = given or env.otlp("ENDPOINT") or DEFAULT_ENDPOINTS[GRPC]
        return url if "://" in url else f"http://{url}"
    if given is None and (signal := env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return signal  # the per-signal variable is the full URL, used as is (OTLP exporter spec)
    base = given or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINTS[HTTP_PROTOBUF]
    base = base if "://" in base else f"http://{base}"
    if base.rstrip("/").endswith(HTTP_TRACES_PATH):
        return base
    return base.rstrip("/") + HTTP_TRACES_PATH


def _headers(
    given: Mapping[str, str] | None, api_key: str | None, env: Environment
) -> tuple[tuple[str, str], ...] | None:
    if given is None and api_key is None:
        return None
    # Passing headers replaces the exporter's own reading of the variables, so merge them here.
    merged = dict(parse_env_headers(env.otlp("HEADERS") or "", liberal=True))
    merged.update({key.lower(): value for key, value in (given or {}).items()})
    if api_key is not None:
        merged[API_KEY_HEADER] = f"Bearer {api_key}"
    return tuple(merged.items())


def _positive(name: str, default: Number, *candidates: Number | None) -> Number:
    """The first candidate given, else ``default``; ValueError unless positive."""
    value = next((candidate for candidate in candidates if candidate is not None), default)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value
