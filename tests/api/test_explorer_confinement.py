"""Sessions, a session, facets and history's q/model/sort see only the key's tenant, and a user-bound key
only its user's runs: another's session answers exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.api.raw_runs import SECOND, send
from tests.conftest import ServerHandle, start_server

RECENT = 1_700_000_000 * SECOND


@dataclass
class Keys:
    read_a: str
    read_b: str
    alice_a: str  # tenant a, bound to user alice


@dataclass
class World:
    server: ServerHandle
    keys: Keys
    runs: dict[str, str]

    def get(self, path: str, key: str, **params: Any) -> httpx.Response:
        return httpx.get(self.server.api_url + path, params=params, headers={"Authorization": f"Bearer {key}"},
                         timeout=10)  # fmt: skip

    def ok(self, path: str, key: str, **params: Any) -> Any:
        response = self.get(path, key, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def world(db_path: Path) -> Iterator[World]:
    database = Database.open(db_path)
    cursor = database.cursor()
    ingest_a, ingest_b = create_key(cursor, "a", "ingest")[0], create_key(cursor, "b", "ingest")[0]
    keys = Keys(create_key(cursor, "a", "read")[0], create_key(cursor, "b", "read")[0],
                create_key(cursor, "a", "read", "alice")[0])  # fmt: skip
    database.close()
    server = start_server(db=str(db_path))
    e = server.grpc_endpoint
    runs = {
        # one session of tenant a shared by alice and bob; one of bob's alone; one of tenant b's by the same name
        "a_alice": send(e, key=ingest_a, user="alice", session="shared", start=RECENT, input_text="needle alpha"),
        "a_bob": send(e, key=ingest_a, user="bob", session="shared", start=RECENT + SECOND, input_text="needle beta",
                      model="claude-sonnet-4", tokens=(900, 90)),
        "a_bob_own": send(e, key=ingest_a, user="bob", session="bobs", start=RECENT + 2 * SECOND, model="o3"),
        "b_carol": send(e, key=ingest_b, user="carol", session="shared", start=RECENT + 3 * SECOND,
                        input_text="needle gamma", model="gemini-2.5-flash"),
    }  # fmt: skip
    try:
        yield World(server, keys, runs)
    finally:
        server.stop()


def test_sessions_are_per_tenant_and_per_user(world: World) -> None:
    k = world.keys
    a = world.ok("/api/v1/agents/sessions", k.read_a)["sessions"]
    assert [(s["session_id"], s["runs"]) for s in a] == [("bobs", 1), ("shared", 2)]
    b = world.ok("/api/v1/agents/sessions", k.read_b)["sessions"]
    assert [(s["session_id"], s["runs"], s["user_id"]) for s in b] == [("shared", 1, "carol")]
    alice = world.ok("/api/v1/agents/sessions", k.alice_a)["sessions"]
    assert [(s["session_id"], s["runs"], s["user_id"]) for s in alice] == [("shared", 1, "alice")]
    assert alice[0]["tokens"]["total"] == 120  # bob's 990 tokens in the same session are not hers to see
    for filters in ({"user_id": "bob"}, {"q": "beta"}, {"agent_id": "bug-triager", "since": "2000-01-01"}):
        listed = world.ok("/api/v1/agents/sessions", k.alice_a, **filters)["sessions"]
        assert [s["runs"] for s in listed] in ([], [1]), filters
        assert all(s["user_id"] == "alice" for s in listed)


def test_another_users_or_tenants_session_is_an_unknown_one(world: World) -> None:
    k = world.keys
    unknown = world.get("/api/v1/agents/sessions/no-such-session", k.alice_a)
    bobs = world.get("/api/v1/agents/sessions/bobs", k.alice_a)
    assert unknown.status_code == bobs.status_code == 404
    assert bobs.json()["error"] == {"code": "not_found", "message": "no session with session_id 'bobs'"}
    assert unknown.json()["error"]["code"] == "not_found"
    shared = world.ok("/api/v1/agents/sessions/shared", k.alice_a)
    assert [run["run_id"] for run in shared["items"]] == [world.runs["a_alice"]]
    assert world.get("/api/v1/agents/sessions/bobs", k.read_b).status_code == 404  # tenant a's
    tenant_b = world.ok("/api/v1/agents/sessions/shared", k.read_b)
    assert [run["run_id"] for run in tenant_b["items"]] == [world.runs["b_carol"]]
    tenant_a = world.ok("/api/v1/agents/sessions/shared", k.read_a)
    assert [run["run_id"] for run in tenant_a["items"]] == [world.runs["a_alice"], world.runs["a_bob"]]


def test_facets_are_per_tenant_and_per_user(world: World) -> None:
    k = world.keys
    a = world.ok("/api/v1/agents/facets", k.read_a, days=3650)
    assert a["users"] == [{"user_id": "bob", "runs": 2}, {"user_id": "alice", "runs": 1}]
    assert {m["model"] for m in a["models"]} == {"gpt-4o", "claude-sonnet-4", "o3"}
    b = world.ok("/api/v1/agents/facets", k.read_b, days=3650)
    assert (b["users"], b["models"]) == ([{"user_id": "carol", "runs": 1}], [{"model": "gemini-2.5-flash", "calls": 1}])
    alice = world.ok("/api/v1/agents/facets", k.alice_a, days=3650)
    assert alice["users"] == [{"user_id": "alice", "runs": 1}]
    assert alice["agents"] == [{"agent_id": "bug-triager", "runs": 1}]
    assert alice["models"] == [{"model": "gpt-4o", "calls": 1}]


@pytest.mark.parametrize("sort", ["start", "duration", "tokens", "cost"])
def test_history_q_model_and_sorts_are_confined(world: World, sort: str) -> None:
    k = world.keys

    def ids(key: str, **params: Any) -> list[str]:
        return [run["run_id"] for run in world.ok("/api/v1/agents/history", key, sort=sort, **params)]

    assert ids(k.alice_a, q="needle") == [world.runs["a_alice"]]
    assert ids(k.alice_a, model="claude-sonnet-4") == []
    assert ids(k.alice_a) == [world.runs["a_alice"]]
    assert set(ids(k.read_a, q="needle")) == {world.runs["a_alice"], world.runs["a_bob"]}
    assert ids(k.read_b, q="needle") == [world.runs["b_carol"]]
    assert ids(k.read_a, model="gemini-2.5-flash") == []
    assert set(ids(k.read_a, limit=1, order="asc")) <= {world.runs[n] for n in ("a_alice", "a_bob", "a_bob_own")}


def test_metrics_by_user_are_confined(world: World) -> None:
    """The dashboard's user filter: metrics of one user's runs; a key bound to another user sees none."""
    k = world.keys

    def runs(key: str, **params: Any) -> int:
        found = world.ok("/api/v1/agents/metrics", key, days=3650, **params)
        return sum(agent["runs"] for agent in found["agents"])

    assert (runs(k.read_a), runs(k.read_a, user_id="bob"), runs(k.read_a, user_id="alice")) == (3, 2, 1)
    assert runs(k.read_a, user_id="carol") == 0  # tenant b's user
    assert (runs(k.alice_a), runs(k.alice_a, user_id="alice"), runs(k.alice_a, user_id="bob")) == (1, 1, 0)


def test_a_node_of_another_users_or_tenants_run_is_not_found(world: World) -> None:
    """The waterfall's detail (logs by span_id) is confined as the run's logs are."""
    k = world.keys
    bobs = world.ok("/api/v1/agents/logs", k.read_a, run_id=world.runs["a_bob"])
    span_id = bobs["nodes"][0]["span_id"]
    assert world.ok("/api/v1/agents/logs", k.read_a, run_id=world.runs["a_bob"], span_id=span_id)["nodes"] == [
        bobs["nodes"][0]
    ]
    for key in (k.alice_a, k.read_b):
        refused = world.get("/api/v1/agents/logs", key, run_id=world.runs["a_bob"], span_id=span_id)
        assert refused.status_code == 404
        assert refused.json()["error"]["message"] == f"no run with run_id {world.runs['a_bob']!r}"
        outline = world.get("/api/v1/agents/logs", key, run_id=world.runs["a_bob"], outline="true")
        assert outline.status_code == 404
