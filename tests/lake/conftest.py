"""A real PostgreSQL for the lake's catalog: a throwaway cluster on a loopback port (tests/lake/postgres.py),
one database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentlog.store import Database
from tests.lake.postgres import Postgres, bin_dir, cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    programs = bin_dir()
    if programs is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
    with cluster(programs) as running:
        yield running


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
