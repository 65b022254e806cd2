"""Slow and many clients: bounded, and never at the expense of the well-behaved ones."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.conftest import start_server
from tests.factories import agent_spans, make_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _slow_request(port: int, declared: int = 10_000) -> socket.socket:
    """A request whose headers arrive but whose body trickles (a slow-loris)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {declared}\r\n\r\n".encode()
        + b"\x0a"
    )
    return sock


def test_a_slow_body_gets_408_and_others_are_served_meanwhile(db_path: Path) -> None:
    server = start_server(db=str(db_path), body_timeout_seconds=1.0)
    try:
        port = server.running.http_port
        slow = [_slow_request(port) for _ in range(50)]
        started = time.monotonic()
        ok = httpx.post(server.http_url, content=make_request(agent_spans(3)).SerializeToString(), headers=PROTOBUF)
        assert ok.status_code == 200
        assert time.monotonic() - started < 1.0  # not queued behind the slow ones
        answers = []
        for sock in slow:
            answers.append(sock.recv(200))
            sock.close()
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers[0]
        assert server.span_count() == 3
    finally:
        server.stop()


def test_connections_past_the_bound_get_503_not_a_queue(db_path: Path) -> None:
    server = start_server(db=str(db_path), max_connections=10, body_timeout_seconds=1.0)
    try:
        slow = [_slow_request(server.running.http_port) for _ in range(30)]
        statuses = []
        for sock in slow:
            statuses.append(sock.recv(200)[9:12])  # each is refused at once (503) or cut off in time (408)
            sock.close()
        assert set(statuses) <= {b"503", b"408"}
        assert statuses.count(b"408") <= 10  # never more in progress than the bound
        ok = httpx.post(server.http_url, content=make_request(agent_spans(2)).SerializeToString(), headers=PROTOBUF)
        assert ok.status_code == 200
    finally:
        server.stop()
