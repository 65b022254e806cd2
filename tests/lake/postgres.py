"""A throwaway PostgreSQL cluster on a loopback port, for a lake's catalog; no pytest in here, so that
bench/lake.py starts its cluster with the same code as the tests (tests/lake/conftest.py).

Debian's ``postgresql`` package (``.ci/run`` installs it) puts its programs in /usr/lib/postgresql/N/bin.
As root, the cluster runs as the ``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Postgres:
    port: int
    bin_dir: Path
    data: Path | None = None
    """The cluster's data directory (its ``postmaster.pid`` names the server's process)."""

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", dbname,
             "-tAc", sql],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        return done.stdout.strip()

    def postmaster_pid(self) -> int | None:
        """The server's process id (its backends are its children), if known."""
        if self.data is None:
            return None
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def bin_dir() -> Path | None:
    """Where PostgreSQL's programs are: initdb on PATH, else Debian's newest; None if not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def cluster(programs: Path) -> Iterator[Postgres]:
    """A new cluster in a temporary directory, listening on 127.0.0.1 only (trust authentication, fsync
    off); stopped and removed on the way out, whatever happened."""
    root = Path(tempfile.mkdtemp(prefix="agentlog-pg-"))
    try:
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            as_postgres = ["runuser", "-u", "postgres", "--"]
        data, port = root / "data", free_port()
        subprocess.run([*as_postgres, str(programs / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
        try:
            subprocess.run([*as_postgres, str(programs / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o",
                            options, "-w", "start"], check=True, capture_output=True, timeout=120)  # fmt: skip
            yield Postgres(port, programs, data)
        finally:
            subprocess.run([*as_postgres, str(programs / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           check=False, capture_output=True, timeout=60)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
