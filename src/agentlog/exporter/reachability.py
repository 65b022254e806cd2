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
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def address(url: str) -> str:
    """``host:port`` of an endpoint URL, as people write a collector's address."""
    parts = urlsplit(url)
    return parts.netloc or url


def why_unreachable(url: str, timeout_s: float) -> str | None:
    """Why a TCP connection to ``url``'s host and port fails (``"connection refused"``, ...); None if it connects.

    Waits at most ``timeout_s`` seconds (per address the host resolves to). Never raises.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError as error:  # a port that is not a number
        return f"not a usable address ({error})"
    if not host or port is None:
        return "not a usable address"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g} s"
    except socket.gaierror:
        return f"cannot resolve host {host!r}"
    except OSError as error:
        if error.errno == errno.ECONNREFUSED:
            return "connection refused"  # the usual case: no collector is running there
        return error.strerror.lower() if error.strerror else f"{type(error).__name__}: {error}"
