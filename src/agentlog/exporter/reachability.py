"""Why spans could not be delivered: one TCP connection attempt to the collector, to name the cause.

The OTLP exporters retry a collector that is down until their timeout and
then report failure without saying why to their caller (only in their own
log, one line per retry). When agentlog gives up at shutdown it says in one
line why, and a connection attempt tells the common causes apart: nothing
listens there, the host is unknown, or it does not answer at all.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def address(url: str) -> str:
    """``host:port`` of an endpoint URL, as people write a collector's address."""
    parts = urlsplit(url)
    return parts.netloc or url


def why_unreachable(url: str, timeout_s: float) -> str | None:
    """Why a TCP connection to ``url``'s host and port fails (``"connection refused"``, ...); None if it connects.

    Waits at most ``timeout_s`` seconds in all, resolving the host name
    included (a resolver that does not answer is not waited out). Never raises.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError as error:  # a port that is not a number
        return f"not a usable address ({error})"
    if not host or port is None:
        return "not a usable address"
    probe = _Probe(host, port, timeout_s)
    # The resolver takes no timeout: the probe runs in a thread of its own, left behind if it overruns.
    threading.Thread(target=probe.run, name="agentlog-probe", daemon=True).start()
    if not probe.done.wait(max(0.0, timeout_s)):
        if probe.resolving:
            return f"cannot resolve host {host!r} within {timeout_s:g} s"
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    return probe.outcome


class _Probe:
    """One connection attempt to ``host``:``port`` within ``timeout_s``, name resolution included, in a thread."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.resolving = True
        self.outcome: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self.outcome = self._attempt()
        finally:
            self.done.set()

    def _attempt(self) -> str | None:
        host, port = self.host, self.port
        try:
            addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return f"cannot resolve host {host!r}"
        except OSError as error:
            return _described(error)
        self.resolving = False
        last: str | None = None
        for family, kind, protocol, _, address in addresses:
            left = self.deadline - time.monotonic()
            if left <= 0:
                break
            try:
                with socket.socket(family, kind, protocol) as sock:
                    sock.settimeout(left)
                    sock.connect(address)
                    return None
            except TimeoutError:
                last = None  # the next address, if time is left; else "no answer"
            except OSError as error:
                last = _described(error)
        return last or f"no answer from {host}:{port} within {self.timeout_s:g} s"


def _described(error: OSError) -> str:
    if error.errno == errno.ECONNREFUSED:
        return "connection refused"  # the usual case: no collector is running there
    return error.strerror.lower() if error.strerror else f"{type(error).__name__}: {error}"
