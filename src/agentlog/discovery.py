"""How the CLI finds the server that holds a database file: a small JSON file beside it.

``agentlog serve --db runs.duckdb`` writes ``runs.duckdb.server.json`` (its pid
and URLs) once it listens, and removes it when it stops. A file left by a
server that was killed is recognised as stale: its pid is gone, or nothing
answers at its URL.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlog.store import MEMORY

if TYPE_CHECKING:
    from agentlog.server import Running
    from agentlog.settings import Settings

SUFFIX = ".server.json"


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    api_url: str
    db: str


def info_path(db: str | Path) -> Path:
    return Path(str(Path(db).resolve()) + SUFFIX)


@contextlib.contextmanager
def announced(settings: Settings, running: Running) -> Iterator[None]:
    """Write the discovery file for the life of the block (nothing for ``:memory:``)."""
    if settings.db == MEMORY:
        yield
        return
    path = info_path(settings.db)
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - mapping, not binding
    body = {
        "pid": os.getpid(),
        "api_url": f"http://{host}:{running.api_port}",
        "grpc_endpoint": f"{host}:{running.grpc_port}",
        "http_url": f"http://{host}:{running.http_port}/v1/traces",
        "db": str(Path(settings.db).resolve()),
    }
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(body))
    temporary.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def find_server(db: str | Path) -> ServerInfo | None:
    """The server announced for ``db`` if its process is alive; None otherwise."""
    if str(db) == MEMORY:
        return None
    try:
        body: dict[str, Any] = json.loads(info_path(db).read_text())
        info = ServerInfo(int(body["pid"]), str(body["api_url"]), str(body["db"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info if _alive(info.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
