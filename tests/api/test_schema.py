"""schemathesis against the API's own OpenAPI document: generated requests, authenticated and not.

Every response must be documented, match its schema, and never be a 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from agentlog.api.auth import OPEN_PATHS
from agentlog.api.openapi import openapi_schema
from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.api.sdk_runs import send_run
from tests.conftest import ServerHandle, start_server

schema = schemathesis.openapi.from_dict(openapi_schema())
# Cursors and run ids are opaque strings: a random one is schema-valid yet rightly refused with a 400,
# so "schema-valid data must be accepted" does not apply; every other check does.
EXCLUDED = [positive_data_acceptance]


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, str, str]]:
    db_path: Path = tmp_path_factory.mktemp("schema") / "agentlog.duckdb"
    database = Database.open(db_path)
    read_key, _ = create_key(database.cursor(), "default", "read")
    ingest_key, _ = create_key(database.cursor(), "default", "ingest")
    admin_key, _ = create_key(database.cursor(), "default", "admin")
    database.close()
    server = start_server(db=str(db_path))
    send_run(server.grpc_endpoint, headers={"authorization": f"Bearer {ingest_key}"})
    try:
        yield server, read_key, admin_key
    finally:
        server.stop()


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_authenticated_requests_conform(case: Any, keyed_server: tuple[ServerHandle, str, str]) -> None:
    server, read_key, _ = keyed_server
    response = case.call(base_url=server.api_url, headers={"Authorization": f"Bearer {read_key}"})
    case.validate_response(response, excluded_checks=EXCLUDED)
    assert response.status_code < 500


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_admin_requests_conform(case: Any, keyed_server: tuple[ServerHandle, str, str]) -> None:
    """An admin reaches the operations (SQL, export, retention, keys) a read key is refused."""
    server, _, admin_key = keyed_server
    response = case.call(base_url=server.api_url, headers={"Authorization": f"Bearer {admin_key}"})
    case.validate_response(response, excluded_checks=EXCLUDED)
    assert response.status_code < 500


@schema.parametrize()
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_unauthenticated_requests_conform(case: Any, keyed_server: tuple[ServerHandle, str, str]) -> None:
    server, _, _ = keyed_server
    response = case.call(base_url=server.api_url)
    case.validate_response(response, excluded_checks=EXCLUDED)
    if case.path not in OPEN_PATHS:
        assert response.status_code == 401
