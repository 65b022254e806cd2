"""Intake's bounds under real load: compressed bombs and floods get retryable refusals, never lost spans."""

from __future__ import annotations

import asyncio
import functools
import gzip
import os
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2

from agentlog.collector.admission import Admission
from agentlog.collector.grpc_receiver import build_grpc_server
from agentlog.collector.intake import Intake
from agentlog.collector.writer import SpanWriter
from agentlog.store import Database
from tests import test_server
from tests.collector.test_grpc_receiver import EXPORT, export_raw
from tests.conftest import start_server
from tests.factories import agent_spans, make_request, make_span

pytestmark = pytest.mark.slow

PROTOBUF = {"Content-Type": "application/x-protobuf"}
PROTOBUF_GZIP = {**PROTOBUF, "Content-Encoding": "gzip"}
MIB = 1024 * 1024


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak resident memory) of process ``pid``, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def gzip_bomb(inflated_bytes: int) -> tuple[bytes, bytes]:
    """A valid export request of one span whose attribute inflates to ``inflated_bytes``; (body, trace id)."""
    span = make_span(attributes={"input.value": "a" * inflated_bytes})
    return gzip.compress(make_request([span]).SerializeToString(), compresslevel=1), span.trace_id


def send_together(url: str, bodies: list[bytes], headers: dict[str, str]) -> list[httpx.Response]:
    """POST every body at once, one thread each; the responses in the bodies' order."""
    responses: list[Any] = [None] * len(bodies)
    start = threading.Barrier(len(bodies))

    def send(index: int) -> None:
        with httpx.Client(timeout=60) as client:
            start.wait(timeout=30)
            responses[index] = client.post(url, content=bodies[index], headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(response, httpx.Response) for response in responses), responses
    return responses


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc")
def test_concurrent_gzip_bombs_past_the_byte_budget_get_503_and_memory_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budget, inflated, bombs = 32 * MIB, 24 * MIB, 16
    env = {**test_server.child_env(), "AGENTLOG_MAX_INTAKE_BYTES": str(budget)}
    monkeypatch.setattr(test_server, "child_env", lambda: env)
    made = [gzip_bomb(inflated) for _ in range(bombs)]
    assert all(len(body) < 200 * 1024 for body, _ in made)
    db = tmp_path / "agentlog.duckdb"
    with test_server.ServerProcess.start(db, "--decode-workers", "1") as server:
        warm_up, _ = gzip_bomb(1000)  # imports, the decode worker, the first commit: before the baseline
        assert httpx.post(server.http_url, content=warm_up, headers=PROTOBUF_GZIP, timeout=60).status_code == 200
        before = memory_kib(server.process.pid)
        responses = send_together(server.http_url, [body for body, _ in made], PROTOBUF_GZIP)
        after = memory_kib(server.process.pid)
        assert server.stop() == 0, server.output()

    # Without the budget every bomb is inflated and queued for the decoder at once: 16 x 24 MiB
    # (measured: 444 MiB more). With it, the budget and a few copies of one request beyond it:
    # the one joined from the inflated steps, the one sent to the decode worker, its rows.
    growth = (after["VmHWM"] - before["VmHWM"]) * 1024
    assert growth < budget + 4 * inflated, f"peak memory grew by {growth / MIB:.0f} MiB"
    accepted = [
        trace_id for (_, trace_id), response in zip(made, responses, strict=True) if response.status_code == 200
    ]
    refused = [response for response in responses if response.status_code != 200]
    assert accepted, "one request always gets in"
    assert refused, f"{bombs} bombs of {inflated} bytes at once cannot all fit in {budget}"
    for response in refused:
        assert response.status_code == 503, response.content
        assert int(response.headers["Retry-After"]) >= 1
        assert "retry later" in status_pb2.Status.FromString(response.content).message
    stored = {bytes.fromhex(f"{int(t):032x}") for (t,) in test_server.query(db, "SELECT trace_id FROM stored_spans")}
    assert set(accepted) <= stored, "every acknowledged span is stored"
    assert len(stored) == len(accepted) + 1  # and nothing refused was (the +1: the warm-up)


def test_grpc_messages_in_flight_past_the_byte_budget_are_unavailable_with_retry_info(db_path: Path) -> None:
    # gRPC reads and inflates a message itself; its bytes count once the handler has it.
    server = start_server(db=str(db_path), max_intake_bytes=4 * MIB)
    try:
        spans = [make_span(attributes={"input.value": "a" * (3 * MIB)}) for _ in range(12)]
        outcomes: list[Any] = [None] * len(spans)
        start = threading.Barrier(len(spans))

        def send(index: int) -> None:
            start.wait(timeout=30)
            try:
                outcomes[index] = export_raw(server.grpc_endpoint, make_request([spans[index]]).SerializeToString())
            except grpc.RpcError as error:
                outcomes[index] = error

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(spans))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        refused = [outcome for outcome in outcomes if isinstance(outcome, grpc.RpcError)]
        accepted = [span.trace_id for span, outcome in zip(spans, outcomes, strict=True) if isinstance(outcome, bytes)]
        assert accepted, "one message always gets in"
        assert refused, "12 messages of 3 MiB at once cannot all fit in 4 MiB"
        for error in refused:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            assert "retry later" in error.details()
            status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
            retry = error_details_pb2.RetryInfo()
            assert status.details[0].Unpack(retry)
            assert retry.retry_delay.seconds >= 1
        stored = {bytes.fromhex(f"{int(t):032x}") for (t,) in server.query("SELECT trace_id FROM stored_spans")}
        assert stored == set(accepted)
    finally:
        server.stop()


TEMPLATE_TRACE = b"\x7e" * 16


class ClosedLoop:
    """Senders that each export a batch, and on a refusal retry the same batch after Retry-After,
    as the OTel SDKs do; bounded in time. Every batch is a trace of its own."""

    def __init__(self, url: str, spans_per_batch: int) -> None:
        self.url = url
        self._template = make_request(agent_spans(spans_per_batch, trace_id=TEMPLATE_TRACE)).SerializeToString()
        self.acked: list[bytes] = []  # trace ids
        # Of the acknowledged exports, first byte on the wire to answer: 96 senders in one Python process
        # queue for seconds in the client's own connection pool, which is no time the server takes.
        self.latencies: list[float] = []
        self.refusals: list[httpx.Response] = []

    def _batch(self) -> tuple[bytes, bytes]:
        trace_id = os.urandom(16)
        return self._template.replace(TEMPLATE_TRACE, trace_id), trace_id

    async def run(self, senders: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            await asyncio.gather(*(self._send_until(client, deadline) for _ in range(senders)))

    async def _send_until(self, client: httpx.AsyncClient, deadline: float) -> None:
        body, trace_id = self._batch()
        while time.monotonic() < deadline:
            sent: list[float] = []
            on_wire = functools.partial(_note_first_byte, sent)
            response = await client.post(self.url, content=body, headers=PROTOBUF, extensions={"trace": on_wire})
            if response.status_code == 200:
                self.latencies.append(time.monotonic() - sent[0])
                self.acked.append(trace_id)
                body, trace_id = self._batch()
                continue
            self.refusals.append(response)
            assert response.status_code == 503, response.content
            await asyncio.sleep(min(float(response.headers["Retry-After"]), max(0.0, deadline - time.monotonic())))


async def _note_first_byte(sent: list[float], event: str, _: object) -> None:
    """An httpx trace hook: when the request's first byte goes on the wire."""
    if event == "http11.send_request_headers.started":
        sent.append(time.monotonic())


def test_under_overload_intake_refuses_early_and_what_it_accepts_is_answered_within_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = 5.0  # the default: half the OTel SDKs' export timeout
    env = {**test_server.child_env(), "AGENTLOG_TARGET_WAIT_SECONDS": str(target)}
    monkeypatch.setattr(test_server, "child_env", lambda: env)
    db = tmp_path / "agentlog.duckdb"
    with test_server.ServerProcess.start(db, "--decode-workers", "1") as server:
        steady, surge = ClosedLoop(server.http_url, 400), ClosedLoop(server.http_url, 1000)
        asyncio.run(steady.run(senders=8, seconds=5))  # a load the server keeps up with: it learns its pace
        asyncio.run(surge.run(senders=96, seconds=10))  # then many more senders than it can serve in time
        assert server.stop() == 0, server.output()

    assert steady.acked and not steady.refusals, "a load within the server's pace is not refused"
    assert surge.refusals, "senders beyond what can be committed within the target are refused"
    for response in surge.refusals:
        assert int(response.headers["Retry-After"]) >= 1
        assert "retry later" in status_pb2.Status.FromString(response.content).message
    latencies = sorted(surge.latencies)
    p99 = latencies[int(len(latencies) * 0.99)]
    assert len(latencies) >= 20
    assert p99 < target, f"p99 {p99:.2f} s of {len(latencies)} accepted exports; refused {len(surge.refusals)}"
    stored = {
        bytes.fromhex(f"{int(t):032x}") for (t,) in test_server.query(db, "SELECT DISTINCT trace_id FROM stored_spans")
    }
    assert set(steady.acked + surge.acked) <= stored, "every acknowledged span is stored"


def test_a_grpc_call_past_its_deadline_holds_its_bytes_until_its_work_ends(db_path: Path) -> None:
    # A deadline cancels the handler, but the request's rows still wait in the writer's queue (here
    # behind a stalled commit): its bytes must stay counted until its work really ends.
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()
    intake = Intake(writer, admission=Admission(max_bytes=64 * MIB))
    body = make_request([make_span()]).SerializeToString()
    stall = threading.Event()

    async def main() -> None:
        server = build_grpc_server(intake)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        stalled = asyncio.ensure_future(writer.run_task(lambda cursor: stall.wait(30)))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                export = channel.unary_unary(EXPORT)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await export(body, timeout=0.5)
                assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            await asyncio.sleep(0.2)  # the cancelled handler has left its hold
            assert intake.admission.in_flight == len(body), "the rows are still queued: their bytes count"
            stall.set()
            await stalled
            for _ in range(100):
                if intake.admission.in_flight == 0:
                    break
                await asyncio.sleep(0.05)
            assert intake.admission.in_flight == 0, "given back once the commit is done"
        finally:
            stall.set()
            await server.stop(None)

    try:
        asyncio.run(main())
    finally:
        writer.close()
    assert database.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (1,)
    database.close()
