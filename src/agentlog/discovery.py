"""How the CLI finds a running server: a small JSON file beside its database, and one in a registry.

``agentlog serve --db runs.duckdb`` writes, once it listens, its pid, URLs and
database path to ``runs.duckdb.server.json`` (found from the database's
name) and to a file of its own in this user's runtime registry (a directory,
``Settings.runtime_dir``: found from anywhere on the machine), and removes
both when it stops. A file left by a server that was killed is recognised as
stale: its pid is gone (registry entries then are removed), or nothing
answers at its URL. Both are written atomically, readable by their owner only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentlog.store import MEMORY

if TYPE_CHECKING:
    from agentlog.server import Running
    from agentlog.settings import Settings

log = logging.getLogger(__name__)

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
    """Announce the server for the life of the block: beside its database (not for ``:memory:``)
    and in the runtime registry. A registry that cannot be written is logged, never fatal."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - mapping, not binding
    body = {
        "pid": os.getpid(),
        "api_url": f"http://{host}:{running.api_port}",
        "grpc_endpoint": f"{host}:{running.grpc_port}",
        "http_url": f"http://{host}:{running.http_port}/v1/traces",
        "db": settings.db if settings.db == MEMORY else str(Path(settings.db).resolve()),
    }
    written: list[Path] = []
    if settings.db != MEMORY:
        written.append(_write_private(info_path(settings.db), body))
    try:
        registry = Path(settings.runtime_dir)
        registry.mkdir(mode=0o700, parents=True, exist_ok=True)
        written.append(_write_private(registry / f"{os.getpid()}-{running.api_port}.json", body))
    except OSError as error:
        log.warning("cannot announce this server in %s (the CLI finds it only beside its database): %s",
                    settings.runtime_dir, error)  # fmt: skip
    try:
        yield
    finally:
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _write_private(path: Path, body: dict[str, Any]) -> Path:
    """Write ``body`` as JSON to ``path`` at once (a reader sees the old file or the new, never half)
    and readable by this user only (mode 0600, from mkstemp)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(json.dumps(body))
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    return path


def _read(path: Path) -> ServerInfo | None:
    try:
        body: dict[str, Any] = json.loads(path.read_text())
        return ServerInfo(int(body["pid"]), str(body["api_url"]), str(body["db"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def registered_servers(registry: str | Path) -> list[ServerInfo]:
    """The servers announced in ``registry`` whose process is alive, oldest entry first. Entries of
    dead processes are removed; unreadable ones are skipped."""
    try:
        entries = sorted(Path(registry).glob("*.json"), key=_modified)
    except OSError:
        return []
    found: list[ServerInfo] = []
    for path in entries:
        info = _read(path)
        if info is None:
            continue
        if _alive(info.pid):
            found.append(info)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return found


def find_server(db: str | Path) -> ServerInfo | None:
    """The server announced for ``db`` if its process is alive; None otherwise."""
    if str(db) == MEMORY:
        return None
    info = _read(info_path(db))
    return info if info is not None and _alive(info.pid) else None


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by its server meanwhile
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
