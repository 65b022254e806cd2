"""How the CLI finds a running server: a small JSON file beside its database, and one in a registry.

``agentlog serve --db runs.duckdb`` draws a random instance id when it starts
and, once it listens, writes its pid, URLs, database path and that id to
``runs.duckdb.server.json`` (found from the database's name) and to a file of
its own in this user's runtime registry (a directory, ``Settings.runtime_dir``:
found from anywhere on the machine); it removes both when it stops. Its
``/healthz`` answers the same id.

A file is believed only when the server at its URL answers with the file's
instance id: a pid says nothing (pids are reused, after a reboot or in a
container), nor does an answer at the URL (another server may listen there
now). A file whose URL answers with another id, or that nothing answers and
whose process is gone, was left by a server that was killed: it is removed.

A file is read only when it, and the registry directory, belong to this user
and no one else can write them: anyone who could would choose where the CLI
sends its API key. Both files are written atomically, readable by their
owner only; the registry directory is created 0700.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from agentlog.errors import AgentlogError
from agentlog.store import MEMORY
from agentlog.store.lake import is_lake

if TYPE_CHECKING:
    from agentlog.server import Running
    from agentlog.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".server.json"
INSTANCE_FIELD = "instance_id"
"""The key of the instance id, in an announcement file and in ``/healthz``'s JSON."""
PROBE_SECONDS = 3.0


class Untrusted(AgentlogError):
    """The registry directory may have been written by someone else: nothing in it is believed."""


@dataclass(frozen=True)
class ServerInfo:
    """What a server announced: its process, API, database and instance id; ``path``: the file."""

    pid: int
    api_url: str
    db: str
    instance_id: str
    path: Path


def new_instance_id() -> str:
    """A fresh id for a server that is starting: no other server, before or after, has it."""
    return secrets.token_hex(16)


def info_path(db: str | Path) -> Path:
    return Path(str(Path(db).resolve()) + SUFFIX)


@contextlib.contextmanager
def announced(settings: Settings, running: Running) -> Iterator[None]:
    """Announce the server for the life of the block: beside its database (not for ``:memory:``)
    and in the runtime registry. A registry that cannot be written, or is not private, is logged,
    never fatal."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104 - mapping, not binding
    body = {
        "pid": os.getpid(),
        "api_url": f"http://{host}:{running.api_port}",
        "grpc_endpoint": f"{host}:{running.grpc_port}",
        "http_url": f"http://{host}:{running.http_port}/v1/traces",
        "db": settings.db if settings.db == MEMORY or is_lake(settings.db) else str(Path(settings.db).resolve()),
        INSTANCE_FIELD: running.instance_id,
    }
    written: list[Path] = []
    if settings.db != MEMORY and not is_lake(settings.db):  # a lake is no file to write beside
        written.append(_write_private(info_path(settings.db), body))
    try:
        registry = private_registry(settings.runtime_dir)
        written.append(_write_private(registry / f"{os.getpid()}-{running.api_port}.json", body))
    except (OSError, Untrusted) as error:
        log.warning("cannot announce this server in %s (the CLI finds it only beside its database): %s",
                    settings.runtime_dir, error)  # fmt: skip
    try:
        yield
    finally:
        for path in written:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def private_registry(registry: str | Path) -> Path:
    """``registry``, created 0700 if missing; Untrusted if it exists but is not this user's alone."""
    path = Path(registry)
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700)
    _check_private(path, directory=True)
    return path


def _check_private(path: Path, *, directory: bool) -> None:
    """Untrusted unless ``path`` (not followed if a link) is a directory or regular file owned by this
    user that neither its group nor others may write."""
    info = path.lstat()
    kind = "directory" if directory else "file"
    if not (stat.S_ISDIR(info.st_mode) if directory else stat.S_ISREG(info.st_mode)):
        raise Untrusted(f"{path} is not a {kind}")
    if info.st_uid != os.getuid():
        raise Untrusted(f"{path} belongs to another user (uid {info.st_uid})")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise Untrusted(f"{path} can be written by other users (mode {stat.S_IMODE(info.st_mode):o})")


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
    """The announcement in ``path``; None if it is missing, malformed, or not private to this user."""
    try:
        _check_private(path, directory=False)
        body: dict[str, Any] = json.loads(path.read_text())
        # No instance id (an older agentlog's file): "" never matches an answer, so it is never believed.
        instance_id = str(body.get(INSTANCE_FIELD) or "")
        return ServerInfo(int(body["pid"]), str(body["api_url"]), str(body["db"]), instance_id, path)
    except Untrusted as error:
        log.warning("ignoring %s: %s", path, error)
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def registered_servers(registry: str | Path) -> list[ServerInfo]:
    """The servers announced in ``registry`` that answer with their own instance id, one per URL,
    oldest entry first. Stale entries are removed; unreadable ones are skipped. Untrusted if the
    registry exists but is not private to this user; no servers if it does not exist."""
    path = Path(registry)
    try:
        _check_private(path, directory=True)
        entries = sorted(path.glob("*.json"), key=_modified)
    except FileNotFoundError:
        return []
    except OSError as error:
        raise Untrusted(f"cannot read {path}: {error}") from None
    probes = _Probes()
    found: dict[str, ServerInfo] = {}
    for entry in entries:
        info = _read(entry)
        if info is not None and probes.verified(info) and info.api_url not in found:
            found[info.api_url] = info
    return list(found.values())


def find_server(db: str | Path) -> ServerInfo | None:
    """The server announced beside ``db`` if it answers with the announced instance id; None
    otherwise (a stale announcement is removed)."""
    if str(db) == MEMORY or is_lake(str(db)):
        return None
    info = _read(info_path(db))
    return info if info is not None and _Probes().verified(info) else None


class _Probes:
    """Asks each URL once which instance answers there, and judges announcements by it."""

    def __init__(self) -> None:
        self._answers: dict[str, str | None] = {}

    def verified(self, info: ServerInfo) -> bool:
        """True if ``info``'s server answers with its id; otherwise False, removing ``info``'s file
        when it is stale (another instance answers, or none does and its process is gone)."""
        if info.api_url not in self._answers:
            self._answers[info.api_url] = instance_at(info.api_url)
        answer = self._answers[info.api_url]
        if answer and answer == info.instance_id:
            return True
        if answer is not None or not _alive(info.pid):
            _remove_if_unchanged(info)
        return False


def instance_at(api_url: str) -> str | None:
    """The instance id the server at ``api_url`` answers with: ``""`` for a server that answers
    without one (not an agentlog server, or another version); None if nothing answers, or it is
    too busy to (a 5xx: the server may be under load, and is not judged on it)."""
    try:
        response = httpx.get(api_url.rstrip("/") + "/healthz", timeout=PROBE_SECONDS)
    except httpx.HTTPError:
        return None
    if response.status_code >= 500:
        return None
    try:
        answered = response.json().get(INSTANCE_FIELD) if response.status_code == 200 else None
    except (ValueError, AttributeError):
        answered = None
    return answered if isinstance(answered, str) else ""


def _remove_if_unchanged(info: ServerInfo) -> None:
    """Remove ``info``'s file unless it now holds another announcement (a new server, meanwhile)."""
    current = _read(info.path)
    if current is not None and current.instance_id == info.instance_id:
        with contextlib.suppress(OSError):
            info.path.unlink()


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed by its server meanwhile
        return 0.0


def _alive(pid: int) -> bool:
    """Whether some process has ``pid``: perhaps another one, so only ever a reason to keep a file."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
