"""A real PostgreSQL for the lake's catalog: a throwaway cluster on a loopback port, one database per test.

Debian's ``postgresql`` package (``.ci/run`` installs it) puts its programs in /usr/lib/postgresql/N/bin.
As root, the cluster runs as the ``postgres`` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentlog.store import Database


@dataclass(frozen=True)
class Postgres:
    port: int
    bin_dir: Path

    def conninfo(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", dbname,
             "-tAc", sql],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        return done.stdout.strip()


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
    root = Path(tempfile.mkdtemp(prefix="agentlog-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} -c fsync=off"
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options,
                    "-w", "start"], check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        yield Postgres(port, bin_dir)
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       check=False, capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class Lake:
    """A new lake: its --db and --data-path."""

    db: str
    data_path: Path


@pytest.fixture
def lake(postgres: Postgres, tmp_path: Path) -> Lake:
    name = "lake_" + uuid.uuid4().hex[:12]
    postgres.psql(f"CREATE DATABASE {name}")
    return Lake(f"ducklake:postgres:{postgres.conninfo(name)}", tmp_path / "lake-data")


@pytest.fixture
def lake_database(lake: Lake) -> Iterator[Database]:
    """The lake opened in this process (made, its files where ``lake.data_path`` says)."""
    database = Database.open(lake.db, data_path=str(lake.data_path))
    try:
        yield database
    finally:
        database.close()
