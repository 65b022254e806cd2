"""Configuration, read once into a frozen object. Nothing else reads ``os.environ``.

Precedence: command-line options, then ``AGENTLOG_*`` environment variables,
then the defaults below.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from agentlog.collector.admission import DEFAULT_MAX_INTAKE_BYTES, DEFAULT_TARGET_WAIT_SECONDS
from agentlog.collector.body import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DECOMPRESSED_BYTES
from agentlog.collector.grpc_receiver import DEFAULT_MAX_MESSAGE_BYTES
from agentlog.collector.writer import DEFAULT_MAX_BATCH_SPANS, DEFAULT_MAX_QUEUED_SPANS
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH
from agentlog.store.upkeep import Defaults

ENV_PREFIX = "AGENTLOG_"


@dataclass(frozen=True)
class Settings:
    """Everything ``agentlog serve`` can be told. Field ``x`` reads env ``AGENTLOG_X``."""

    db: str = "agentlog.duckdb"  # a DuckDB file, or a DuckLake: ducklake:postgres:<libpq conninfo>
    # A lake's Parquet files: a directory every process shares, or s3://bucket/prefix ("": the lake's own,
    # stored in its catalog when it was made).
    data_path: str = ""
    # False: serve the API on the database only (no OTLP ports, no writes): a read-only API process on a lake.
    ingest: bool = True
    # Whether ``db`` was named (an option or AGENTLOG_DB), even as the default name: set by ``load``.
    db_named: bool = field(default=False, metadata={"derived": True})
    url: str = ""  # the CLI: a running server's API; empty: found by itself (agentlog.discovery)
    api_key: str = ""  # the CLI: an API key for a server that has keys (AGENTLOG_API_KEY, as the exporter)
    # Where running servers announce themselves to this user's CLI, wherever it runs from; empty:
    # $XDG_RUNTIME_DIR/agentlog, else ~/.cache/agentlog/servers (see runtime_dir_default).
    runtime_dir: str = ""
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    api_port: int = 8000
    insecure: bool = False
    retention_days: int = 30
    retention_every_seconds: int = 3600
    # A lake's upkeep (agentlog.store.upkeep), where the lake's own setting is not made (agentlog lake upkeep):
    # seconds between passes (0: none), and how long old snapshots and dropped files stay readable.
    upkeep_every_seconds: int = 600
    upkeep_keep_snapshots_seconds: int = 3600
    max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS
    max_batch_spans: int = DEFAULT_MAX_BATCH_SPANS
    max_grpc_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_http_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    max_intake_bytes: int = DEFAULT_MAX_INTAKE_BYTES  # bytes of all requests in flight; past it 503 / UNAVAILABLE
    target_wait_seconds: float = DEFAULT_TARGET_WAIT_SECONDS  # work a new request may find ahead of it; 0: no bound
    max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH
    # DuckDB's own memory in the server ("": DuckDB's default, 80% of RAM). DuckDB spills past it; at 256MB
    # retention deleted half of a 1M-run store (5M spans) under ingest in 2.7 s (bench/retention).
    memory_limit: str = "256MB"
    decode_workers: int = 0  # processes decoding OTLP; 0: one thread of the server's own
    max_connections: int = 1000  # concurrent HTTP requests per port, and gRPC calls; past it 503 / RESOURCE_EXHAUSTED
    body_timeout_seconds: float = 30.0  # an HTTP body must arrive within this (slow clients get 408)
    # A TOML file of the organisation's own attribute keys, read before the built-in ones ("": none;
    # agentlog.proto.conventions_file, docs/conventions.md).
    conventions: str = ""

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then the environment, then ``overrides`` whose value is not None."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = environ.get(ENV_PREFIX + setting.name.upper())
            if raw is not None and not setting.metadata.get("derived"):
                values[setting.name] = _parse(setting.name, raw, type(getattr(cls(), setting.name)))
        settings = replace(cls(), **values)
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        settings = replace(settings, **{**given, "db_named": "db" in values or "db" in given})
        return settings if settings.runtime_dir else replace(settings, runtime_dir=runtime_dir_default(environ))

    @property
    def loopback_only(self) -> bool:
        """True when ``host`` is a loopback address (or ``localhost``)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def upkeep_defaults(self) -> Defaults:
        """The lake upkeep this process follows where the lake's own setting is not made."""
        return Defaults(self.upkeep_every_seconds, self.upkeep_keep_snapshots_seconds)


DEFAULT_API_URL = f"http://{Settings.host}:{Settings.api_port}"
"""Where a default ``agentlog serve`` answers: what hints point people to."""


def runtime_dir_default(environ: Mapping[str, str]) -> str:
    """This user's registry of running servers: under ``$XDG_RUNTIME_DIR`` (a per-user, private
    directory that goes away at logout, like the servers), else in the user's cache directory."""
    runtime = environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return str(Path(runtime) / "agentlog")
    return str(Path(environ.get("HOME") or Path.home()) / ".cache" / "agentlog" / "servers")


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, got {raw!r}") from None
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be an integer, got {raw!r}") from None
    return raw
