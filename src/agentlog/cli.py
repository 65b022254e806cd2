"""The ``agentlog`` command."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Annotated

import typer

from agentlog import commands
from agentlog.errors import AgentlogError, DatabaseFailed
from agentlog.server import Running, run
from agentlog.settings import DEFAULT_API_URL, Settings

app = typer.Typer(
    name="agentlog",
    help="Execution history for AI agents: an OTLP collector on DuckDB, with history and logs.",
    no_args_is_help=True,
    add_completion=False,
)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="DuckDB file (or :memory:). Env AGENTLOG_DB.", show_default="agentlog.duckdb"),
]


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[
        str | None, typer.Option(help="Address to bind. Env AGENTLOG_HOST.", show_default="127.0.0.1")
    ] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="OTLP/gRPC port (0 picks a free one).", show_default="4317")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="OTLP/HTTP port (0 picks a free one).", show_default="4318")
    ] = None,
    api_port: Annotated[
        int | None, typer.Option(help="API, web page and WebSocket port (0 picks a free one).", show_default="8000")
    ] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="Allow a non-loopback bind with no API keys.")] = False,
    decode_workers: Annotated[
        int | None, typer.Option(help="Processes that decode OTLP (0: a thread of the server's own).", show_default="0")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Once listening, record a few demo runs into it.")] = False,
    retention_days: Annotated[
        int | None, typer.Option(help="Delete runs that ended over N days ago (0: keep everything).", show_default="30")
    ] = None,
    retention_every: Annotated[
        int | None, typer.Option(help="Seconds between retention passes.", show_default="3600")
    ] = None,
    upkeep_every: Annotated[
        int | None,
        typer.Option(
            help="On a lake: seconds between upkeep passes, unless the lake sets its own (0: none).", show_default="600"
        ),
    ] = None,
    upkeep_keep_snapshots: Annotated[
        int | None,
        typer.Option(
            help="On a lake: seconds old snapshots and dropped files stay readable, unless the lake sets its own.",
            show_default="3600",
        ),
    ] = None,
    max_queued_spans: Annotated[
        int | None, typer.Option(help="Spans waiting to commit before intake answers 'retry later'.")
    ] = None,
    conventions: Annotated[
        str | None,
        typer.Option(help="TOML file of your own attribute keys, read before the built-in ones (docs/conventions.md)."),
    ] = None,
    data_path: Annotated[
        str | None,
        typer.Option(
            help="A lake's Parquet files (--db ducklake:postgres:...): a shared directory or s3://bucket/prefix. "
            "Env AGENTLOG_DATA_PATH."
        ),
    ] = None,
    no_ingest: Annotated[
        bool, typer.Option("--no-ingest", help="Serve the API and web page only: no OTLP ports, no writes.")
    ] = False,
) -> None:
    """Receive OTLP traces over gRPC and HTTP and commit them to DuckDB (a file, or a DuckLake shared by
    several such processes: docs/scale-out.md)."""
    settings = Settings.load(
        {
            "db": db,
            "host": host,
            "grpc_port": grpc_port,
            "http_port": http_port,
            "api_port": api_port,
            "insecure": insecure or None,
            "retention_days": retention_days,
            "decode_workers": decode_workers,
            "retention_every_seconds": retention_every,
            "upkeep_every_seconds": upkeep_every,
            "upkeep_keep_snapshots_seconds": upkeep_keep_snapshots,
            "max_queued_spans": max_queued_spans,
            "conventions": conventions,
            "data_path": data_path,
            "ingest": False if no_ingest else None,
        }
    )
    try:
        committed = run(settings, on_ready=lambda running: _announce(settings, running, demo))
    except AgentlogError as error:
        typer.echo(f"agentlog: {error.message}", err=True)
        raise typer.Exit(1 if isinstance(error, DatabaseFailed) else 2) from None
    typer.echo(f"agentlog: stopped; {committed} spans committed this session")


def _announce(settings: Settings, running: Running, demo: bool = False) -> None:
    host = settings.host
    typer.echo(f"agentlog: database {running.database.path} (schema version {running.database.schema_version})")
    if settings.ingest:
        typer.echo(f"agentlog: OTLP/gRPC on {host}:{running.grpc_port}")
        typer.echo(f"agentlog: OTLP/HTTP on http://{host}:{running.http_port}/v1/traces and /v1/logs")
    else:
        typer.echo("agentlog: no OTLP ports (--no-ingest): the API reads what other processes commit")
    if settings.conventions:
        typer.echo(f"agentlog: your conventions from {settings.conventions} are read before the built-in ones")
    typer.echo(f"agentlog: API and web page on http://{host}:{running.api_port}/")
    typer.echo("agentlog: ready; Ctrl+C stops after committing everything received")
    sys.stdout.flush()
    if demo:
        # Its own process: the demo is an agent like any other, talking OTLP to this server.
        endpoint = f"{'127.0.0.1' if settings.loopback_only else settings.host}:{running.grpc_port}"
        api = f"http://{host}:{running.api_port}"
        subprocess.Popen([sys.executable, "-m", "agentlog", "demo", "--endpoint", endpoint, "--api-url", api])  # noqa: S603


@app.command()
def demo(
    endpoint: Annotated[
        str | None, typer.Option(help="Collector (OTLP/gRPC host:port) to send to.", show_default="localhost:4317")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Write into this DuckDB file instead; no server.")] = None,
    pace: Annotated[float, typer.Option(help="Scale the fake steps' latency (0: no waiting).")] = 1.0,
    api_url: Annotated[
        str, typer.Option(help="Where the server's API and web page are, for the hint printed at the end.")
    ] = DEFAULT_API_URL,
) -> None:
    """Record a few runs of small fake agents (no network; some fail), to have history to look at."""
    from agentlog.demo import main as demo_main  # noqa: PLC0415 - the OTel SDK loads for this command only

    raise typer.Exit(demo_main(endpoint=endpoint, database=db, pace=pace, say=typer.echo, api_url=api_url))


commands.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
