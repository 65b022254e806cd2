"""A collector that is down, slow or broken costs the agent nothing but a bounded queue; losses are counted."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import agentlog
from agentlog.exporter.reachability import why_unreachable
from tests.exporter.agents import closed_port, embedded_rows, triage

RUNS = 50  # 50 runs of 3-4 nodes: ~200 spans, a few milliseconds of agent work when nothing blocks
EXPORT_TIMEOUT_S = 2.0
NEVER_BLOCKED_S = 1.0
SHUTDOWN_TIMEOUT_S = 1
EXIT_SLACK_S = 1.0
"""What exit may take past the shutdown timeout: closing the exporter, the interpreter's own teardown."""
"""Recording all runs must take less than one export's timeout: proof that no export was waited for."""


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts connections and never answers: a collector that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def answerless_collector() -> Iterator[int]:
    """A port that accepts each connection and never answers on it: a collector that hangs mid-request."""
    held: list[socket.socket] = []

    def accept_all(listener: socket.socket) -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return  # the listener was closed: the test is over

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        threading.Thread(target=accept_all, args=(listener,), daemon=True).start()
        yield listener.getsockname()[1]
    for connection in held:
        connection.close()


def record_runs(count: int = RUNS) -> float:
    started = time.perf_counter()
    for i in range(count):
        triage(f"issue #{i}", search_fails_once=i % 2 == 0)
    return time.perf_counter() - started


def agentlog_warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("agentlog.") and text in r.getMessage()]


def test_a_collector_that_is_down_costs_nothing_and_losses_are_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    port = closed_port()
    pipeline = agentlog.configure(
        endpoint=f"127.0.0.1:{port}", timeout_s=EXPORT_TIMEOUT_S, schedule_delay_ms=10, environ={}
    )
    assert record_runs() < NEVER_BLOCKED_S
    started = time.perf_counter()
    pipeline.shutdown(timeout_s=0.5)
    assert time.perf_counter() - started < 3.0  # bounded, whatever the exporter's retries wanted
    counts = pipeline.counts()
    assert counts.exported == 0
    assert counts.lost >= RUNS * 4  # every span: none was stored
    # Once a minute, not once a batch; what failed during shutdown is said once, at its end, with the cause.
    assert len(agentlog_warnings(caplog, "could not export spans")) <= 1  # none unless an export failed before
    (warning,) = agentlog_warnings(caplog, "could not deliver")
    assert re.fullmatch(
        rf"agentlog: could not deliver \d+ spans to 127\.0\.0\.1:{port} within 0\.\d s: connection refused", warning
    )


def test_a_slow_collector_fills_the_bounded_queue_and_drops_are_counted(
    black_hole: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pipeline = agentlog.configure(
        endpoint=f"127.0.0.1:{black_hole}",
        timeout_s=EXPORT_TIMEOUT_S,
        max_queue_size=32,
        max_export_batch_size=8,
        schedule_delay_ms=10,
        environ={},
    )
    assert record_runs() < NEVER_BLOCKED_S
    counts = pipeline.counts()
    assert counts.dropped > RUNS * 4 - 32 - 8  # all but what the queue and one batch in flight hold
    assert counts.exported == 0
    (warning,) = agentlog_warnings(caplog, "dropped spans")
    assert "export queue is full" in warning
    started = time.perf_counter()
    pipeline.shutdown(timeout_s=0.5)
    assert time.perf_counter() - started < 3.0
    assert pipeline.counts().failed > 0  # what was queued when shutdown gave up on the collector


def test_the_agent_exits_promptly_when_the_collector_hangs(black_hole: int, tmp_path: Path) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import agentlog\n"
        f"agentlog.configure(endpoint='127.0.0.1:{black_hole}', shutdown_timeout_s=0.5, environ={{}})\n"
        "with agentlog.run('bug-triager') as run:\n"
        "    with run.node('planner', type='llm'):\n"
        "        pass\n"
        "print('agent done')\n"
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(agent)], capture_output=True, text=True, timeout=30, check=False)
    elapsed = time.perf_counter() - started
    assert (done.returncode, done.stdout) == (0, "agent done\n"), done.stderr
    # Without the bound, exit would wait out the exporter's 10 s timeout.
    assert elapsed < 6.0


def test_a_script_with_no_collector_exits_within_the_shutdown_timeout_and_says_why(tmp_path: Path) -> None:
    port = closed_port()
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import time\n"
        "import agentlog\n"
        f"agentlog.configure(endpoint='127.0.0.1:{port}', shutdown_timeout_s={SHUTDOWN_TIMEOUT_S}, environ={{}})\n"
        "with agentlog.run('bug-triager') as run:\n"
        "    with run.node('planner', type='llm'):\n"
        "        pass\n"
        "print(time.time())\n"  # the agent's work is done: from here on it is exit
    )
    done = subprocess.run([sys.executable, str(agent)], capture_output=True, text=True, timeout=30, check=False)
    exiting = time.time() - float(done.stdout)
    assert done.returncode == 0, done.stderr
    assert exiting < SHUTDOWN_TIMEOUT_S + EXIT_SLACK_S, done.stderr
    (said,) = [line for line in done.stderr.splitlines() if line.startswith("agentlog")]
    assert re.fullmatch(
        rf"agentlog: could not deliver 2 spans to 127\.0\.0\.1:{port} within [\d.]+ s: connection refused", said
    )


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_a_collector_that_never_answers_holds_exit_no_longer_than_the_shutdown_timeout(
    answerless_collector: int, protocol: str, tmp_path: Path
) -> None:
    port = answerless_collector
    agent = tmp_path / "agent.py"
    agent.write_text(
        "import time\n"
        "import agentlog\n"
        f"agentlog.configure(endpoint='http://127.0.0.1:{port}', protocol='{protocol}',\n"
        f"                   shutdown_timeout_s={SHUTDOWN_TIMEOUT_S}, environ={{}})\n"
        "with agentlog.run('bug-triager') as run:\n"
        "    with run.node('planner', type='llm'):\n"
        "        pass\n"
        "print(time.time())\n"  # from here on it is exit, with the export to the collector in flight
    )
    done = subprocess.run([sys.executable, str(agent)], capture_output=True, text=True, timeout=30, check=False)
    exiting = time.time() - float(done.stdout)
    assert done.returncode == 0, done.stderr
    assert exiting < SHUTDOWN_TIMEOUT_S + EXIT_SLACK_S, done.stderr  # the exporter's own timeout is 10 s
    said = [line for line in done.stderr.splitlines() if line.startswith("agentlog")]
    assert len(said) == 1, done.stderr
    found = re.fullmatch(
        rf"agentlog: could not deliver 2 spans to 127\.0\.0\.1:{port} within ([\d.]+) s: "
        "the collector accepts connections but did not take the spans in time",
        said[0],
    )
    assert found, said
    assert SHUTDOWN_TIMEOUT_S / 2 <= float(found[1]) <= exiting + 0.05  # the time it really took, not the setting


def test_why_unreachable_tells_a_closed_port_from_a_collector_that_does_not_answer(black_hole: int) -> None:
    assert why_unreachable(f"http://127.0.0.1:{closed_port()}", 1.0) == "connection refused"
    assert why_unreachable(f"http://127.0.0.1:{black_hole}/v1/traces", 1.0) is None  # it connects
    assert (why_unreachable("http://127.0.0.1:http", 1.0) or "").startswith("not a usable address")


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose queue of connections not yet accepted is full: new connection attempts get no answer."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        waiting = [socket.socket() for _ in range(3)]
        for client in waiting:
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)  # the kernel completes what the queue takes
        yield port
        for client in waiting:
            client.close()


PROBE_S = 0.5
PROBE_SLACK_S = 0.3


def test_the_probe_takes_no_longer_than_its_time_resolving_the_name_included(full_backlog: int) -> None:
    started = time.perf_counter()
    assert why_unreachable(f"http://localhost:{full_backlog}", PROBE_S) == (
        f"no answer from localhost:{full_backlog} within {PROBE_S:g} s"
    )
    assert time.perf_counter() - started < PROBE_S + PROBE_SLACK_S
    assert why_unreachable(f"http://localhost:{closed_port()}", PROBE_S) == "connection refused"
    # Offline, or with a resolver that never answers, this is bounded too: one answer or the other, in time.
    started = time.perf_counter()
    unknown = why_unreachable("http://agentlog-no-such-host.invalid:4317", PROBE_S) or ""
    assert time.perf_counter() - started < PROBE_S + PROBE_SLACK_S
    assert unknown.startswith("cannot resolve host 'agentlog-no-such-host.invalid'"), unknown


class Raising(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls += 1
        raise ConnectionResetError("collector hung up")


def test_an_exporter_that_raises_never_raises_into_the_agent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    exporter = Raising()
    pipeline = agentlog.configure(exporter=exporter, schedule_delay_ms=10, environ={})
    record_runs(5)
    pipeline.force_flush(timeout_s=10)
    assert exporter.calls >= 1
    assert pipeline.counts().failed >= 5 * 4
    (warning,) = agentlog_warnings(caplog, "could not export spans")
    assert "ConnectionResetError: collector hung up" in warning


class Gate(SpanExporter):
    """Holds every export until opened: a collector that is slow on purpose."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.opened.wait(timeout=30)
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def test_the_queue_bound_is_exact_and_nothing_admitted_is_lost() -> None:
    gate = Gate()
    pipeline = agentlog.configure(
        exporter=gate, pending_spans=False, max_queue_size=10, max_export_batch_size=5, schedule_delay_ms=10, environ={}
    )
    with agentlog.run("bulk") as run:
        for i in range(3):
            with run.node(f"step-{i}"):
                pass
    time.sleep(0.2)  # the export thread takes the first batch and waits at the gate
    with agentlog.run("bulk"):
        for i in range(30):
            with agentlog.node(f"more-{i}"):
                pass
    gate.opened.set()
    assert pipeline.force_flush(timeout_s=10)
    counts = pipeline.counts()
    assert counts.exported + counts.dropped == 4 + 31
    assert counts.exported == len(gate.spans) == 4 + 10  # the first batch, then a full queue
    assert counts.failed == 0


def test_more_running_spans_than_one_export_holds_are_all_announced() -> None:
    pipeline = agentlog.configure(
        database=":memory:", max_export_batch_size=4, max_queue_size=64, schedule_delay_ms=10, environ={}
    )
    with agentlog.run("deep") as run:
        scopes = [agentlog.node(f"level-{i}") for i in range(10)]
        for scope in scopes:
            scope.__enter__()
        assert pipeline.force_flush(timeout_s=10)
        pending = embedded_rows(pipeline, "SELECT name FROM pending_spans ORDER BY start_time_unix_nano")
        for scope in reversed(scopes):
            scope.__exit__(None, None, None)
    assert [row["name"] for row in pending] == ["invoke_agent deep", *(f"level-{i}" for i in range(10))]
    assert pipeline.force_flush(timeout_s=10)
    assert embedded_rows(pipeline, "SELECT count(*) AS n FROM pending_spans") == [{"n": 0}]
    (summary,) = embedded_rows(pipeline, "SELECT status, node_count FROM run_summaries WHERE run_id = ?", [run.run_id])
    assert summary == {"status": "success", "node_count": 10}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_with_an_empty_queue() -> None:
    gate = Gate()
    pipeline = agentlog.configure(
        exporter=gate, pending_spans=False, max_queue_size=4, max_export_batch_size=2, schedule_delay_ms=10, environ={}
    )
    for i in range(10):  # the parent's queue is full: the exporter is held at the gate
        with agentlog.run(f"parent-{i}"):
            pass
    assert pipeline.counts().dropped > 0
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a worker process of a pre-forking server, say
        try:
            before = pipeline.counts().dropped
            for i in range(3):
                with agentlog.run(f"child-{i}"):
                    pass
            os.write(write_end, str(pipeline.counts().dropped - before).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        dropped_in_child = pipe.read()
    os.waitpid(pid, 0)
    gate.opened.set()
    assert dropped_in_child == "0"
