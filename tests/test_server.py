"""``agentlog serve`` as a user runs it: a child process, its banner, its signals, its file.

Each test starts the real command (``python -m agentlog serve``) on ephemeral
loopback ports and a database under ``tmp_path``, talks to it over the wire,
stops it the way a user or a supervisor would, and then reads the DuckDB file
it left behind.
"""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import grpc
import httpx
import pytest
from google.rpc import code_pb2, status_pb2
from typer.testing import CliRunner

from agentlog import cli
from agentlog.errors import DatabaseFailed
from agentlog.server import Running, keep_alive_seconds, listening_socket
from agentlog.settings import Settings
from agentlog.store import Database, database_failed
from agentlog.store.migrate import load_migrations
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import start_server
from tests.factories import agent_spans, make_request

pytestmark = pytest.mark.slow

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
READY_TIMEOUT = 30.0
"""Seconds for a server to print its banner (imports, open, migrate, bind)."""
STOP_TIMEOUT = 30.0
"""Seconds for a stopping server to exit before the test kills it and fails."""
LATEST_SCHEMA = load_migrations()[-1].version

SpanKey = tuple[int, int]
"""(trace_id, span_id) as integers (the spans table stores them as UUID and UBIGINT)."""


def span_keys(spans: list[Any]) -> set[SpanKey]:
    return {(int.from_bytes(s.trace_id, "big"), int.from_bytes(s.span_id, "big")) for s in spans}


def stored_keys(db: Path) -> set[SpanKey]:
    """Every (trace_id, span_id) in the file, read by a fresh DuckDB connection of this process."""
    with duckdb.connect(str(db), read_only=True) as connection:
        return {
            (int(t), int(s)) for t, s in connection.execute("SELECT trace_id, span_id FROM stored_spans").fetchall()
        }


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as connection:
        return list(connection.execute(sql).fetchall())


def child_env() -> dict[str, str]:
    """This environment without AGENTLOG_* (the tests pass every setting but the test's runtime
    registry) and with plain, wide output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_") and k != "FORCE_COLOR"}
    env.update({"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    env["AGENTLOG_RUNTIME_DIR"] = os.environ["AGENTLOG_RUNTIME_DIR"]  # the test's registry, never the user's
    env["AGENTLOG_RETENTION_DAYS"] = "0"  # the test spans are dated 2023: keep them
    return env


def agentlog_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentlog", *args]


class ServerProcess:
    """``agentlog serve`` in a child process; a context manager that always kills it on the way out.

    stdout is read line by line on a thread into a queue, so that waiting for
    the banner has a timeout; stderr is drained on another so the child never
    blocks on a full pipe.
    """

    _BANNER = (
        re.compile(r"agentlog: database (?P<path>.+) \(schema version (?P<schema>\d+)\)$"),
        re.compile(r"agentlog: OTLP/gRPC on 127\.0\.0\.1:(?P<grpc>\d+)$"),
        re.compile(r"agentlog: OTLP/HTTP on http://127\.0\.0\.1:(?P<http>\d+)/v1/traces and /v1/logs$"),
        re.compile(r"agentlog: API and web page on http://127\.0\.0\.1:(?P<api>\d+)/$"),
    )
    _STOPPED = re.compile(r"agentlog: stopped; (\d+) spans committed this session$")

    def __init__(self, db: Path | str, *options: str) -> None:
        """``db``: a file (the child runs in its directory) or a lake's ``ducklake:...``."""
        self.db = db
        self.ingests = "--no-ingest" not in options
        self.process = subprocess.Popen(
            agentlog_command(
                "serve",
                "--db",
                str(db),
                "--host",
                "127.0.0.1",
                "--grpc-port",
                "0",
                "--http-port",
                "0",
                "--api-port",
                "0",
                *options,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=db.parent if isinstance(db, Path) else None,
        )
        self.stdout: list[str] = []
        self._stderr: list[str | None] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._lines.put), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self._stderr.append), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self.banner: dict[str, str] = {}
        self.stop_seconds: float | None = None

    @classmethod
    def start(cls, db: Path | str, *options: str) -> ServerProcess:
        """Start the server and return once it has printed its ready line."""
        server = cls(db, *options)
        try:
            server._await_ready()
        except BaseException:
            server.kill()
            raise
        return server

    @staticmethod
    def _read(stream: Any, put: Callable[[Any], None]) -> None:
        for line in stream:
            put(line.rstrip("\n"))
        put(None)

    def _next_line(self, deadline: float) -> str | None:
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output from agentlog serve within {READY_TIMEOUT} s; {self.output()}") from None
        if line is not None:
            self.stdout.append(line)
        return line

    def _await_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while (line := self._next_line(deadline)) is not None:
            for pattern in self._BANNER:
                if match := pattern.match(line):
                    self.banner.update(match.groupdict())
            if line.startswith("agentlog: ready"):
                ports = {"grpc", "http"} if self.ingests else set()
                assert self.banner.keys() == {"path", "schema", "api", *ports}, self.output()
                return
        self.process.wait(timeout=STOP_TIMEOUT)
        self._finish()
        raise AssertionError(f"agentlog serve exited before it was ready; {self.output()}")

    @property
    def schema_version(self) -> int:
        return int(self.banner["schema"])

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.banner['grpc']}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.banner['http']}/v1/traces"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.banner['api']}"

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum``; return the exit code once the process is gone (it must go within STOP_TIMEOUT)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"agentlog serve did not exit within {STOP_TIMEOUT} s of signal {signum}") from None
        self.stop_seconds = time.monotonic() - started
        self._finish()
        return code

    def kill(self) -> int:
        """SIGKILL (if still running) and reap; returns the exit code."""
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(timeout=STOP_TIMEOUT)
        self._finish()
        return code

    def _finish(self) -> None:
        for reader in self._readers:
            reader.join(timeout=10)
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.stdout.append(line)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    @property
    def committed_this_session(self) -> int:
        """The count from the 'stopped; N spans committed this session' line."""
        for line in self.stdout:
            if match := self._STOPPED.match(line):
                return int(match.group(1))
        raise AssertionError(f"no 'stopped' line; {self.output()}")

    def output(self) -> str:
        stderr = "".join(line + "\n" for line in self._stderr if line is not None)
        return f"stdout:\n{chr(10).join(self.stdout)}\nstderr:\n{stderr}"

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.kill()


class Load:
    """Sender threads exporting fresh agent traces until stopped; remembers what was acknowledged.

    A request is acknowledged when gRPC answers OK or HTTP answers 200; the
    server promises that only after its spans are committed.
    """

    def __init__(
        self,
        server: ServerProcess,
        *,
        grpc_senders: int = 4,
        http_senders: int = 0,
        spans_per_request: int = 10,
        max_requests_per_sender: int = 2_000,
    ) -> None:
        self._server = server
        self._spans_per_request = spans_per_request
        self._max_requests = max_requests_per_sender
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.acked_requests = 0
        self.acked_keys: set[SpanKey] = set()
        self.outcomes: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self._threads = [threading.Thread(target=self._grpc_sender) for _ in range(grpc_senders)]
        self._threads += [threading.Thread(target=self._http_sender) for _ in range(http_senders)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self._threads), "sender threads did not stop"

    def wait_for_acks(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.acked_requests < count:
            assert time.monotonic() < deadline, f"{self.acked_requests} of {count} acks in {timeout} s: {self.outcomes}"
            assert not self.unexpected, self.unexpected
            time.sleep(0.01)

    def _grpc_sender(self) -> None:
        with grpc.insecure_channel(self._server.grpc_endpoint) as channel:
            export = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)

            def send(body: bytes) -> str:
                try:
                    export(body, timeout=10)
                except grpc.RpcError as error:
                    return f"grpc {error.code().name}"
                return "ok"

            self._send_until_stopped(send)

    def _http_sender(self) -> None:
        with httpx.Client(timeout=10) as client:

            def send(body: bytes) -> str:
                try:
                    response = client.post(self._server.http_url, content=body, headers=PROTOBUF)
                except httpx.TransportError as error:
                    return f"http {type(error).__name__}"
                return "ok" if response.status_code == 200 else f"http {response.status_code}"

            self._send_until_stopped(send)

    def _send_until_stopped(self, send: Callable[[bytes], str]) -> None:
        try:
            for _ in range(self._max_requests):
                if self._stop.is_set():
                    return
                spans = agent_spans(self._spans_per_request)
                outcome = send(make_request(spans).SerializeToString())
                with self._lock:
                    self.outcomes[outcome] += 1
                    if outcome == "ok":
                        self.acked_requests += 1
                        self.acked_keys |= span_keys(spans)
                if outcome != "ok":
                    self._stop.wait(0.02)  # the server is going or gone: do not spin
        except Exception as error:  # a thread's exception would otherwise vanish
            with self._lock:
                self.unexpected.append(repr(error))


def export_grpc(server: ServerProcess, spans: list[Any]) -> None:
    with grpc.insecure_channel(server.grpc_endpoint) as channel:
        channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)(
            make_request(spans).SerializeToString(), timeout=10
        )


def export_http(server: ServerProcess, spans: list[Any]) -> None:
    response = httpx.post(server.http_url, content=make_request(spans).SerializeToString(), headers=PROTOBUF)
    assert response.status_code == 200, response.content


def test_sigterm_under_load_exits_cleanly_and_keeps_every_acknowledged_span(tmp_path: Path) -> None:
    db = tmp_path / "agentlog.duckdb"
    with ServerProcess.start(db) as server:
        with Load(server, grpc_senders=4, http_senders=2) as load:
            load.wait_for_acks(100, timeout=20)
            code = server.stop(signal.SIGTERM)
        assert code == 0, server.output()
        assert server.stop_seconds is not None
        assert server.stop_seconds < 10, f"stopping took {server.stop_seconds:.1f} s"

    assert not load.unexpected, load.unexpected
    assert not db.with_name(db.name + ".wal").exists(), "a clean stop checkpoints: no WAL left behind"
    stored = stored_keys(db)
    missing = load.acked_keys - stored
    assert not missing, f"{len(missing)} acknowledged spans are not in the file; outcomes {load.outcomes}"
    assert len(load.acked_keys) == load.acked_requests * 10
    # What the server says it committed is what the file holds.
    assert server.committed_this_session == len(stored)


def test_restart_on_the_same_file_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "agentlog.duckdb"
    first = [agent_spans(5) for _ in range(3)]
    with ServerProcess.start(db) as server:
        assert Path(server.banner["path"]) == db
        assert server.schema_version == LATEST_SCHEMA
        for spans in first:
            export_grpc(server, spans)
        assert server.stop(signal.SIGINT) == 0, server.output()
        assert server.committed_this_session == 15
    assert not db.with_name(db.name + ".wal").exists(), "a clean stop leaves no WAL behind"

    second = [agent_spans(4) for _ in range(3)]
    with ServerProcess.start(db) as server:
        assert Path(server.banner["path"]) == db
        assert server.schema_version == LATEST_SCHEMA, "reopening must not migrate again"
        for spans in second:
            export_http(server, spans)
        export_grpc(server, first[0])  # an exporter retrying across the restart
        assert server.stop(signal.SIGINT) == 0, server.output()
        assert server.committed_this_session == 12, "the retried request must store nothing new"

    expected = set().union(*(span_keys(spans) for spans in first + second))
    assert stored_keys(db) == expected
    assert query(db, "SELECT count(*), count(DISTINCT version) FROM agentlog_schema") == [
        (LATEST_SCHEMA, LATEST_SCHEMA)
    ]


def test_sigkill_under_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    db = tmp_path / "agentlog.duckdb"
    with ServerProcess.start(db) as server, Load(server, grpc_senders=4, http_senders=1) as load:
        # Kill at 200 acknowledged requests or after 2 s, whichever comes first (but never before 20).
        deadline = time.monotonic() + 2
        while load.acked_requests < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        load.wait_for_acks(20, timeout=20)
        assert server.kill() == -signal.SIGKILL
    assert not load.unexpected, load.unexpected

    with ServerProcess.start(db) as again:  # DuckDB replays the WAL on open
        assert again.schema_version == LATEST_SCHEMA
        assert again.stop(signal.SIGTERM) == 0, again.output()
        assert again.committed_this_session == 0

    stored = stored_keys(db)
    missing = load.acked_keys - stored
    assert not missing, f"{len(missing)} of {len(load.acked_keys)} acknowledged spans lost in the crash"
    ((transactions,),) = query(db, "SELECT count(DISTINCT commit_seq) FROM stored_spans")
    assert transactions > 1, "the kill should come after several group commits"


def test_overload_flood_over_http_is_503_with_retry_after_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "agentlog.duckdb"
    senders, per_sender, spans_per_request = 24, 4, 50
    results: list[tuple[set[SpanKey], httpx.Response | BaseException]] = []
    lock = threading.Lock()
    with ServerProcess.start(db, "--max-queued-spans", "1") as server:
        start = threading.Barrier(senders)

        def sender() -> None:
            with httpx.Client(timeout=10) as client:
                start.wait(timeout=30)
                for _ in range(per_sender):
                    spans = agent_spans(spans_per_request)
                    body = make_request(spans).SerializeToString()
                    try:
                        outcome: httpx.Response | BaseException = client.post(
                            server.http_url, content=body, headers=PROTOBUF
                        )
                    except Exception as error:
                        outcome = error
                    with lock:
                        results.append((span_keys(spans), outcome))

        threads = [threading.Thread(target=sender) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert server.stop(signal.SIGTERM) == 0, server.output()

    assert len(results) == senders * per_sender
    errors = [outcome for _, outcome in results if not isinstance(outcome, httpx.Response)]
    assert not errors, errors
    responses = [(keys, outcome) for keys, outcome in results if isinstance(outcome, httpx.Response)]
    accepted = [keys for keys, response in responses if response.status_code == 200]
    refused = [response for _, response in responses if response.status_code != 200]
    assert accepted, "an empty queue always admits a request"
    assert refused, "a one-span queue must refuse some of 24 concurrent senders"
    for response in refused:
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["Content-Type"].startswith("application/x-protobuf")
        status = status_pb2.Status.FromString(response.content)
        assert status.code == code_pb2.UNAVAILABLE
        assert "retry later" in status.message
    stored = stored_keys(db)
    assert len(stored) == len(accepted) * spans_per_request
    assert stored == set().union(*accepted), "exactly the accepted requests are stored"


def test_non_loopback_host_without_insecure_is_refused_at_once(tmp_path: Path) -> None:
    db = tmp_path / "agentlog.duckdb"
    started = time.monotonic()
    result = subprocess.run(
        agentlog_command("serve", "--db", str(db), "--host", "0.0.0.0", "--grpc-port", "0", "--http-port", "0"),
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=tmp_path,
        timeout=20,  # were it to listen, not for long
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert "--insecure" in result.stderr
    assert "0.0.0.0" in result.stderr
    assert "ready" not in result.stdout
    assert not db.exists(), "nothing is created before the refusal"
    assert elapsed < 15


def test_help_lists_the_command_and_its_options(tmp_path: Path) -> None:
    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=30, check=False
        )

    top = run(agentlog_command("--help"))
    assert top.returncode == 0, top.stderr
    assert "serve" in top.stdout
    assert "OTLP" in top.stdout

    script = Path(sysconfig.get_path("scripts")) / "agentlog"
    assert script.exists(), f"the agentlog console script is not installed at {script}"
    serve = run([str(script), "serve", "--help"])
    assert serve.returncode == 0, serve.stderr
    for option in ("--db", "--host", "--grpc-port", "--http-port", "--insecure", "--max-queued-spans"):
        assert option in serve.stdout, f"{option} missing from:\n{serve.stdout}"


def test_served_connections_send_without_delay() -> None:
    """Accepted connections have TCP_NODELAY: otherwise each response on a keep-alive
    connection after the first waits out the client's delayed ACK (40 ms on Linux)."""

    async def accepted_nodelay() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        listener = listening_socket("127.0.0.1", 0)
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
            result = await asyncio.wait_for(accepted, 5)
            writer.close()
            return result
        finally:
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0


@pytest.mark.parametrize("target_wait", [0.0, 0.4, 5.0, 30.0])
def test_a_sender_back_after_its_retry_after_finds_its_connection_still_open(target_wait: float) -> None:
    """A refused sender waits the Retry-After it was given (at most the target wait, rounded) and
    comes back on its keep-alive connection: closing it at that very moment resets the export."""
    longest_retry_after = max(1, round(target_wait))
    assert keep_alive_seconds(Settings(target_wait_seconds=target_wait)) >= longest_retry_after + 1


def test_a_fatal_database_error_stops_the_server_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """DuckDB invalidates a database after a fatal error (a failed checkpoint, out of memory): the server
    refuses with a retryable code, stops with a message instead of answering errors forever, and a
    restart finds every acknowledged span."""
    db = tmp_path / "agentlog.duckdb"
    server = start_server(db=str(db))
    endpoint = server.grpc_endpoint
    export_raw(endpoint, make_request(agent_spans(3)).SerializeToString())  # acknowledged

    cursor = server.running.database.cursor()
    # Once idle, the writer folds the run's partial roll-up: let it finish first, or it would be the one
    # to find the database failed, and the server would be gone before the export below.
    deadline = time.monotonic() + 10
    while cursor.execute("SELECT count(*) FROM run_partials").fetchone() != (0,):
        assert time.monotonic() < deadline, "the idle writer never compacted"
        time.sleep(0.01)
    cursor.execute("SET debug_checkpoint_abort = 'before_header'")  # DuckDB's own switch for this failure
    with pytest.raises(duckdb.Error) as failed:
        cursor.execute("CHECKPOINT")
    assert database_failed(failed.value), failed.value
    cursor.close()
    with pytest.raises(grpc.RpcError) as refused:
        export_raw(endpoint, make_request(agent_spans(2)).SerializeToString())
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "database failed" in (refused.value.details() or "")

    error = server.ended()  # fails if the server kept running on the invalidated database
    assert isinstance(error, DatabaseFailed)
    assert "restart agentlog" in error.message

    reopened = Database.open(db)
    assert reopened.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (3,)
    reopened.close()


def test_serve_demo_points_to_the_api_this_server_listens_on(tmp_path: Path) -> None:
    with ServerProcess.start(tmp_path / "agentlog.duckdb", "--demo") as server:
        deadline = time.monotonic() + READY_TIMEOUT
        while (line := server._next_line(deadline)) is not None and not line.startswith("Look at them"):
            pass
        api = next(re.search(r"(http://127\.0\.0\.1:\d+)/$", seen) for seen in server.stdout if "API and web" in seen)
        assert api is not None and line is not None, server.output()
        assert line == f"Look at them: open {api.group(1)}/, or curl {api.group(1)}/api/v1/agents/history"
        assert not line.startswith("Look at them: open http://127.0.0.1:8000/")  # --api-port 0: never 8000


def test_serve_exits_1_when_the_database_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The exit code a supervisor sees after the fatal error above (serve() itself is tested there)."""

    def database_failed(settings: Settings, on_ready: Callable[[Running], None] | None = None) -> int:
        raise DatabaseFailed("the database failed and agentlog stopped: disk full; restart agentlog.")

    monkeypatch.setattr(cli, "run", database_failed)
    result = CliRunner().invoke(cli.app, ["serve", "--db", str(tmp_path / "agentlog.duckdb")])
    assert result.exit_code == 1
    assert "restart agentlog" in result.output
