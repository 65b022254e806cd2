"""/openapi.json describes every route, and each route takes exactly the query parameters it declares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route, WebSocketRoute
from websockets.sync.client import connect

from agentlog.api.app import build_api_app
from agentlog.api.live import LiveFeed
from agentlog.query import Reader
from agentlog.store import Database
from tests.conftest import ServerHandle

TIMEOUT = 10


def app_operations(db_path: Path) -> set[tuple[str, str]]:
    """(path, method) of every route the API app serves; a WebSocket is a GET with an upgrade."""
    database = Database.open(db_path)
    try:
        app = build_api_app(Reader(database), LiveFeed(), schema_version=database.schema_version)
    finally:
        database.close()
    operations = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            operations.add((route.path, "get"))
        else:
            assert isinstance(route, Route), route
            operations |= {(route.path, method.lower()) for method in route.methods or () if method != "HEAD"}
    return operations


def test_every_route_is_described_and_nothing_else(server: ServerHandle, tmp_path: Path) -> None:
    document = httpx.get(server.api_url + "/openapi.json", timeout=TIMEOUT).json()
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described == app_operations(tmp_path / "routes.duckdb")
    assert "x-websocket" not in document
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] and operation["responses"], (path, method)


def test_run_id_and_cursor_are_constrained(server: ServerHandle) -> None:
    document = httpx.get(server.api_url + "/openapi.json", timeout=TIMEOUT).json()

    def schema(path: str, name: str) -> dict[str, Any]:
        (found,) = (p["schema"] for p in document["paths"][path]["get"]["parameters"] if p["name"] == name)
        return found  # type: ignore[no-any-return]

    assert schema("/api/v1/agents/logs", "run_id")["pattern"] == "^[0-9a-fA-F]{8,32}$"
    assert schema("/api/v1/agents/logs", "cursor")["pattern"] == "^[A-Za-z0-9_-]*$"
    assert schema("/api/v1/agents/history", "cursor")["pattern"] == "^[A-Za-z0-9_-]*$"
    assert schema("/api/v1/agents/live", "run_id")["pattern"] == "^([0-9a-fA-F]{32})?$"
    assert schema("/api/v1/agents/live", "cursor")["pattern"] == "^[0-9]{0,19}$"


def _error(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == "invalid_request"
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/v1/agents/history", {"limit": "١٢"}, "limit"),  # Arabic-Indic digits: int() takes them
        ("/api/v1/agents/history", {"limit": "１２"}, "limit"),  # full-width digits
        ("/api/v1/agents/history", {"limit": "1_0"}, "limit"),
        ("/api/v1/agents/history", {"limit": " 10"}, "limit"),
        ("/api/v1/agents/history", {"skip": "٣"}, "skip"),
        ("/api/v1/agents/logs", {"run_id": "0123456789abcdef0123456789abcdef", "limit": "১০"}, "limit"),
        ("/api/v1/agents/stats", {"days": "７"}, "days"),
        ("/api/v1/agents/metrics", {"days": "+7"}, "days"),
    ],
)
def test_integers_are_ascii_digits(server: ServerHandle, path: str, params: dict[str, str], named: str) -> None:
    message = _error(httpx.get(server.api_url + path, params=params, timeout=TIMEOUT))
    assert message.startswith(f"{named} must be an integer"), message


@pytest.mark.parametrize(
    ("method", "path", "params", "named"),
    [
        ("GET", "/api/v1/agents/history", {"agent": "bug-triager"}, "'agent'"),
        ("GET", "/api/v1/agents/history", {"limit": "5", "page": "2", "direction": "asc"}, "'direction', 'page'"),
        ("GET", "/api/v1/agents/logs", {"run_id": "0123456789abcdef0123456789abcdef", "depth": "1"}, "'depth'"),
        ("GET", "/api/v1/agents/stats", {"flow_id": "x"}, "'flow_id'"),  # metrics takes it, stats does not
        ("GET", "/api/v1/agents/metrics", {"day": "7"}, "'day'"),
        ("GET", "/api/v1/agents/history", {"token": "al_x"}, "'token'"),  # only the WebSocket reads ?token=
        ("GET", "/api/v1/export", {"tabel": "runs"}, "'tabel'"),
        ("GET", "/api/v1/keys", {"tenant": "acme"}, "'tenant'"),
        ("GET", "/healthz", {"verbose": "1"}, "'verbose'"),
        ("POST", "/api/v1/sql", {"max_rows": "5"}, "'max_rows'"),  # a body field, not a query parameter
        ("POST", "/api/v1/executions/cleanup", {"days": "1"}, "'days'"),
        ("DELETE", "/api/v1/keys/0123456789ab", {"force": "1"}, "'force'"),
    ],
)
def test_unknown_query_parameters_are_named(
    server: ServerHandle, method: str, path: str, params: dict[str, str], named: str
) -> None:
    response = httpx.request(method, server.api_url + path, params=params, json={}, timeout=TIMEOUT)
    message = _error(response)
    assert f"unknown query parameter{'s' if ',' in named else ''} {named}" in message, message


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"run_id": "run-82923a"}, "run_id"),
        ({"run_id": "0123456"}, "run_id"),  # a prefix needs 8 digits
        ({"run_id": "0123456789abcdef0123456789abcdef0"}, "run_id"),
        ({"run_id": "0123456789abcdef", "cursor": "a+b/c="}, "cursor"),
    ],
)
def test_run_id_and_cursor_outside_their_pattern_are_400(
    server: ServerHandle, params: dict[str, str], named: str
) -> None:
    message = _error(httpx.get(server.api_url + "/api/v1/agents/logs", params=params, timeout=TIMEOUT))
    assert message.startswith(f"{named} must be"), message


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("since=5", "unknown query parameter 'since'"),
        ("cursor=%C2%B2", "cursor must be a cursor this feed sent"),  # '²': str.isdigit() says yes, int() fails
        ("cursor=%D9%A1", "cursor must be a cursor this feed sent"),  # Arabic-Indic one
        ("run_id=abc", "run_id must be 32 hexadecimal digits"),
    ],
)
def test_the_live_feed_refuses_what_it_does_not_declare(server: ServerHandle, query: str, says: str) -> None:
    url = f"ws://127.0.0.1:{server.running.api_port}/api/v1/agents/live?{query}"
    with connect(url, open_timeout=TIMEOUT) as ws:
        message = json.loads(ws.recv(timeout=TIMEOUT))
    assert message["error"]["code"] == "invalid_request"
    assert says in message["error"]["message"], message


def test_a_plain_get_of_the_live_feed_says_it_is_a_websocket(server: ServerHandle) -> None:
    response = httpx.get(server.api_url + "/api/v1/agents/live", timeout=TIMEOUT)
    assert (response.status_code, response.json()["error"]["code"]) == (426, "upgrade_required")
    assert response.headers["upgrade"] == "websocket"
