"""Sessions (list and detail) and facets over real HTTP: figures that add up to their runs', filters, paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentlog.query import sessions as sessions_module
from tests.api.raw_runs import SECOND, T0, send
from tests.conftest import ServerHandle

SESSIONS = "/api/v1/agents/sessions"


def get(server: ServerHandle, path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.api_url + path, params=params, timeout=10)


def ok(server: ServerHandle, path: str, **params: Any) -> Any:
    response = get(server, path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def session_ids(server: ServerHandle, **params: Any) -> list[str]:
    return [s["session_id"] for s in ok(server, SESSIONS, **params)["sessions"]]


def _sum(values: list[Any]) -> Any:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def summed(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What a session of ``runs`` (history items) must say."""
    users = {run["user_id"] for run in runs}
    ends = [run["ended_at"] for run in runs if run["ended_at"]]
    return {
        "user_id": users.pop() if len(users) == 1 else None,
        "agent_ids": sorted({run["agent_id"] for run in runs}),
        "runs": len(runs),
        "failed_runs": sum(run["status"] == "failed" for run in runs),
        "running_runs": sum(run["status"] == "running" for run in runs),
        "first_started_at": min(run["started_at"] for run in runs),
        "last_ended_at": max(ends) if ends else None,
        "duration_ms": _sum([run["duration_ms"] for run in runs]),
        "tokens": {k: sum(run["tokens"][k] for run in runs) for k in ("input", "output", "cache_read",
                                                                     "cache_write", "reasoning", "total")},
        "cost_usd": _sum([run["cost_usd"] for run in runs]),
    }  # fmt: skip


@pytest.fixture
def sessions(server: ServerHandle) -> dict[str, list[str]]:
    """Four sessions, and runs with no session; one session mixes users, one has a running and a failing run."""
    endpoint = server.grpc_endpoint
    made = {
        "triage": [send(endpoint, session="triage", start=T0, input_text="Triage bug 9", seconds=2),
                   send(endpoint, session="triage", start=T0 + 50 * SECOND, agent="fixer", tokens=(300, 30)),
                   send(endpoint, session="triage", start=T0 + 60 * SECOND, finished=False)],
        "mixed": [send(endpoint, session="mixed", user="alice", start=T0 + 10 * SECOND, model=None),
                  send(endpoint, session="mixed", user="bob", start=T0 + 20 * SECOND, output_text="Wrote the FAQ")],
        "bob": [send(endpoint, session="bob", user="bob", start=T0 + 30 * SECOND, model="no-such-model")],
        "old": [send(endpoint, session="old", user="carol", start=T0 - 3600 * SECOND, agent="archiver")],
    }  # fmt: skip
    send(endpoint, session=None, start=T0 + 100 * SECOND)
    return made


def test_sessions_sum_up_their_runs_latest_first(server: ServerHandle, sessions: dict[str, list[str]]) -> None:
    listed = ok(server, SESSIONS)
    assert listed["next_cursor"] is None
    assert [s["session_id"] for s in listed["sessions"]] == ["triage", "bob", "mixed", "old"]
    for session in listed["sessions"]:
        runs = ok(server, "/api/v1/agents/history", session_id=session["session_id"], limit=500)
        assert {run["run_id"] for run in runs} == set(sessions[session["session_id"]])
        want = summed(runs)
        assert {k: session[k] for k in want if k != "cost_usd"} == {k: v for k, v in want.items() if k != "cost_usd"}
        assert session["cost_usd"] == pytest.approx(want["cost_usd"])
        assert session["cost_cents"] == pytest.approx(None if want["cost_usd"] is None else want["cost_usd"] * 100)
        assert session["last_started_at"] == max(run["started_at"] for run in runs)
    triage = listed["sessions"][0]
    assert (triage["user_id"], triage["running_runs"], triage["agent_ids"]) == ("alice", 1, ["bug-triager", "fixer"])
    assert listed["sessions"][2]["user_id"] is None  # alice and bob
    assert listed["sessions"][1]["cost_usd"] is None  # a model with no price: unknown, not 0


def test_sessions_page_by_cursor_and_filter_by_their_runs(server: ServerHandle, sessions: dict[str, list[str]]) -> None:
    seen, cursor = [], None
    for _ in range(10):
        page = ok(server, SESSIONS, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["triage", "bob", "mixed", "old"]
    assert session_ids(server, agent_id="fixer") == ["triage"]
    assert session_ids(server, user_id="bob") == ["bob", "mixed"]
    assert session_ids(server, q="faq") == ["mixed"]  # another run's output, any case
    assert session_ids(server, q="TRIAGE BUG") == ["triage"]
    assert session_ids(server, q="zebra") == []
    assert session_ids(server, since="2025-11-23T12:13:45Z") == ["triage", "bob"]
    assert session_ids(server, until="2025-11-23T12:13:00Z") == ["old"]
    assert session_ids(server, since="2025-11-23T12:13:25Z", limit=1) == ["triage"]
    mixed = ok(server, SESSIONS, user_id="bob")["sessions"][1]
    assert mixed["runs"] == 2  # alice's run counts too: filters choose sessions, not runs
    assert get(server, SESSIONS, cursor="bm90LWEtY3Vyc29y").status_code == 400


def test_a_session_lists_its_runs_oldest_first_in_full(
    server: ServerHandle, sessions: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    long_input = "Why " * 100
    run_id = send(server.grpc_endpoint, session="long", input_text=long_input, start=T0)
    detail = ok(server, f"{SESSIONS}/long")
    assert detail["items"][0]["input"] == long_input  # whole, where the history shortens it
    assert ok(server, "/api/v1/agents/history", session_id="long")[0]["input"] != long_input
    triage = ok(server, f"{SESSIONS}/triage")
    assert [run["run_id"] for run in triage["items"]] == sessions["triage"]
    assert triage["truncated"] is False
    listed = next(s for s in ok(server, SESSIONS)["sessions"] if s["session_id"] == "triage")
    assert {k: v for k, v in triage.items() if k not in ("items", "truncated")} == {
        k: v for k, v in listed.items() if k != "last_started_at"
    }
    history = {run["run_id"]: run for run in ok(server, "/api/v1/agents/history", session_id="triage")}
    for item in triage["items"]:
        assert item == history[item["run_id"]]  # as a history item, input and output short here anyway
    monkeypatch.setattr(sessions_module, "MAX_SESSION_RUNS", 2)
    capped = ok(server, f"{SESSIONS}/triage")
    assert (capped["truncated"], len(capped["items"]), capped["runs"]) == (True, 2, 3)
    missing = get(server, f"{SESSIONS}/nope")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "no session with session_id 'nope'"}}
    assert run_id


def test_facets_count_the_windows_agents_users_and_model_calls(server: ServerHandle) -> None:
    recent = 1_700_000_000 * SECOND  # every run here is within 3650 days, none within 1 of the server's clock
    for agent, user, model in [("a", "u1", "gpt-4o"), ("a", "u2", "gpt-4o"), ("b", "u1", None), ("a", None, "o3")]:
        send(server.grpc_endpoint, agent=agent, user=user, model=model, start=recent + SECOND)
    facets = ok(server, "/api/v1/agents/facets", days=3650)
    assert facets["agents"] == [{"agent_id": "a", "runs": 3}, {"agent_id": "b", "runs": 1}]
    assert facets["users"] == [{"user_id": "u1", "runs": 2}, {"user_id": "u2", "runs": 1}]
    assert facets["models"] == [{"model": "gpt-4o", "calls": 2}, {"model": "o3", "calls": 1}]
    assert facets["days"] == 3650
    assert ok(server, "/api/v1/agents/facets", days=1) == {"agents": [], "users": [], "models": [], "days": 1}
    assert get(server, "/api/v1/agents/facets", days=0).status_code == 400
