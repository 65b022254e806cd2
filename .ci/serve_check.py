"""Check an installed agentlog as a user gets it: ``agentlog serve`` starts and the live WebSocket answers.

Usage: ``python3 .ci/serve_check.py PATH/TO/agentlog``

It starts ``agentlog serve`` on a new database in a temporary directory (free
loopback ports), sends a raw WebSocket handshake to ``/api/v1/agents/live``
and expects ``101 Switching Protocols``, the server's greeting and a clean
close; then stops the server with SIGINT and expects exit code 0 and no
traceback. Only the standard library is used, so nothing this check brings
can stand in for a dependency the package forgot: uvicorn without a
WebSocket library answers the handshake with 404.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import IO

TIMEOUT = 60.0
"""Seconds for the server to start, and again to stop."""
READY = re.compile(r"agentlog: API and web page on http://127\.0\.0\.1:(\d+)/$")
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
LIVE_PATH = "/api/v1/agents/live"


class CheckFailed(Exception):
    """The installed package does not do what a user is told it does."""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="agentlog-serve-check-") as workdir:
        try:
            greeting = check(os.path.abspath(argv[1]), workdir)
        except CheckFailed as failure:
            print(f"serve check FAILED: {failure}", file=sys.stderr)
            return 1
    print(f"serve check: agentlog serve started, {LIVE_PATH} answered 101 and sent {greeting}, stopped cleanly")
    return 0


def check(agentlog: str, workdir: str) -> str:
    """Start, handshake, stop; return the greeting the WebSocket sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTLOG_")}
    env["PYTHONUNBUFFERED"] = "1"
    command = [agentlog, "serve", "--db", "check.duckdb", "--grpc-port", "0", "--http-port", "0", "--api-port", "0"]
    server = subprocess.Popen(  # noqa: S603 - the executable is this check's argument
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str | None] = []
    readers = [_drain(server.stdout, lines.put), _drain(server.stderr, errors.append)]
    try:
        port = _api_port(lines, errors)
        greeting = _handshake(port)
    finally:
        code = _stop(server)
        for reader in readers:
            reader.join(timeout=10)
    stderr = "".join(filter(None, errors))
    if code != 0:
        raise CheckFailed(f"agentlog serve exited with {code} on SIGINT; stderr:\n{stderr}")
    if "Traceback" in stderr:
        raise CheckFailed(f"agentlog serve logged a traceback:\n{stderr}")
    return greeting


def _drain(stream: IO[str] | None, put: Callable[[str | None], object]) -> threading.Thread:
    """Read ``stream`` on a thread (the child never blocks on a full pipe); None marks its end."""

    def read() -> None:
        assert stream is not None
        for line in stream:
            put(line)
        put(None)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _api_port(lines: queue.Queue[str | None], errors: list[str | None]) -> int:
    while True:
        try:
            line = lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise CheckFailed(f"agentlog serve printed nothing for {TIMEOUT:g} s") from None
        if line is None:
            raise CheckFailed("agentlog serve exited before it was ready; stderr:\n" + "".join(filter(None, errors)))
        if match := READY.match(line.rstrip("\n")):
            return int(match.group(1))


def _handshake(port: int) -> str:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {LIVE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request.encode())
        stream = sock.makefile("rb")
        status = stream.readline().decode("latin-1").strip()
        headers = _headers(stream)
        if status.split(" ")[1:2] != ["101"]:
            raise CheckFailed(f"the WebSocket handshake to {LIVE_PATH} answered {status!r}, not 101")
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()  # noqa: S324
        if headers.get("sec-websocket-accept") != accept:
            raise CheckFailed(f"wrong Sec-WebSocket-Accept: {headers.get('sec-websocket-accept')!r}")
        opcode, payload = _read_frame(stream)
        if opcode != 1 or "cursor" not in json.loads(payload):
            raise CheckFailed(f"the first message was not the greeting: opcode {opcode}, {payload[:200]!r}")
        sock.sendall(_close_frame(1000))
        opcode, _ = _read_frame(stream)
        if opcode != 8:
            raise CheckFailed(f"the server did not answer the close frame (opcode {opcode})")
    return payload.decode()


def _headers(stream: IO[bytes]) -> dict[str, str]:
    headers = {}
    while (line := stream.readline().decode("latin-1").strip()) != "":
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _read_frame(stream: IO[bytes]) -> tuple[int, bytes]:
    """One unmasked, unfragmented server frame: (opcode, payload)."""
    head = stream.read(2)
    if len(head) < 2:
        raise CheckFailed("the server closed the connection instead of sending a frame")
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", stream.read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", stream.read(8))
    return opcode, stream.read(length)


def _close_frame(code: int) -> bytes:
    """A client's close frame (clients mask every frame, RFC 6455 section 5.3)."""
    mask = os.urandom(4)
    payload = struct.pack("!H", code)
    return bytes([0x88, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _stop(server: subprocess.Popen[str]) -> int:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
    try:
        return server.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        raise CheckFailed(f"agentlog serve did not stop within {TIMEOUT:g} s of SIGINT") from None


if __name__ == "__main__":
    sys.exit(main(sys.argv))
