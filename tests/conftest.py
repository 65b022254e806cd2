"""Shared fixtures: a real agentlog server on ephemeral loopback ports, and span factories."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentlog.server import Running, serve
from agentlog.settings import Settings

RUNTIME_DIR = "AGENTLOG_RUNTIME_DIR"
# Servers announce themselves in a per-user registry. Tests (and the servers and CLIs they start, which
# inherit this environment) never use the real one: other checkouts run their tests on this machine too.
# Set at import, before any test runs; each test then gets its own (the fixture below).
os.environ[RUNTIME_DIR] = tempfile.mkdtemp(prefix="agentlog-test-runtime-")
atexit.register(shutil.rmtree, os.environ[RUNTIME_DIR], ignore_errors=True)


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own registry of running servers."""
    path = tmp_path_factory.mktemp("runtime")
    monkeypatch.setenv(RUNTIME_DIR, str(path))
    return path


@dataclass
class ServerHandle:
    """A server running in a background thread of this test process."""

    settings: Settings
    running: Running
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    outcome: dict[str, Any]
    """What ``serve`` raised, under ``"error"``, once it has."""

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.running.grpc_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.running.api_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.running.http_port}/v1/traces"

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Read the live database through a cursor of its own (as a reader thread would)."""
        cursor = self.running.database.cursor()
        try:
            return list(cursor.execute(sql, params or []).fetchall())
        finally:
            cursor.close()

    def span_count(self) -> int:
        return int(self.query("SELECT count(*) FROM stored_spans")[0][0])

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.running.stop.set)
        if (error := self.ended()) is not None:
            raise error

    def ended(self, timeout: float = 30) -> BaseException | None:
        """Wait for ``serve`` to return (stopped, or stopping by itself); what it raised, if anything."""
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), f"server did not stop within {timeout:g} s"
        return self.outcome.get("error")


def start_server(**overrides: Any) -> ServerHandle:
    """Start ``serve`` on a thread with its own event loop; return once it listens."""
    # Retention off unless a test asks: factory spans are dated 2023 and would be cleaned up at start.
    # Decoding in-process keeps the many short-lived test servers quick; test_decoding covers the workers.
    defaults = {"grpc_port": 0, "http_port": 0, "api_port": 0, "retention_days": 0, "decode_workers": 0,
                "runtime_dir": os.environ[RUNTIME_DIR]}  # fmt: skip
    settings = Settings.load({**defaults, **overrides}, environ={})
    ready = threading.Event()
    box: dict[str, Any] = {}

    def on_ready(running: Running) -> None:
        box["running"] = running
        box["loop"] = asyncio.get_running_loop()
        ready.set()

    def target() -> None:
        try:
            asyncio.run(serve(settings, on_ready))
        except BaseException as error:
            box["error"] = error
            ready.set()

    thread = threading.Thread(target=target, name="agentlog-test-server", daemon=True)
    thread.start()
    assert ready.wait(timeout=30), "server did not start within 30 s"
    if "error" in box:
        raise box["error"]
    return ServerHandle(settings, box["running"], box["loop"], thread, box)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "agentlog.duckdb"


@pytest.fixture
def server(db_path: Path) -> Iterator[ServerHandle]:
    handle = start_server(db=str(db_path))
    try:
        yield handle
    finally:
        handle.stop()
