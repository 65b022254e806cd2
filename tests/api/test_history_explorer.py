"""History's q, model and sort/order over real HTTP: what each finds, and paging to the end in every order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentlog.query.filtered import filtered_sql
from tests.api.raw_runs import SECOND, T0, send
from tests.conftest import ServerHandle

HISTORY = "/api/v1/agents/history"
KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "start": lambda run: run["started_at"],
    "duration": lambda run: run["duration_ms"],
    "tokens": lambda run: run["tokens_used"],
    "cost": lambda run: run["cost_usd"],
}


def get(server: ServerHandle, path: str = HISTORY, **params: Any) -> httpx.Response:
    return httpx.get(server.api_url + path, params=params, timeout=10)


def ids(server: ServerHandle, **params: Any) -> list[str]:
    response = get(server, **params)
    assert response.status_code == 200, response.text
    return [run["run_id"] for run in response.json()]


def every_page(server: ServerHandle, **params: Any) -> list[dict[str, Any]]:
    """Every run, following X-Next-Cursor page by page."""
    runs: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        response = get(server, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        runs += response.json()
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return runs
    raise AssertionError("paging did not end")


def expected(runs: list[dict[str, Any]], sort: str, order: str) -> list[str]:
    """``runs`` in the documented order: by the key, then run id, both in ``order``; no key last."""
    key = KEYS[sort]
    valued = sorted((run for run in runs if key(run) is not None), key=lambda r: (key(r), r["run_id"]),
                    reverse=order == "desc")  # fmt: skip
    unvalued = sorted((run for run in runs if key(run) is None), key=lambda r: r["run_id"], reverse=order == "desc")
    return [run["run_id"] for run in valued + unvalued]


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Runs with ties and gaps in every sort key: equal tokens and durations, no cost, running."""
    from tests.conftest import start_server  # noqa: PLC0415 - module-scoped: one server for the module's reads

    server = start_server(db=str(tmp_path_factory.mktemp("explorer") / "agentlog.duckdb"))
    shapes: list[dict[str, Any]] = [
        {"seconds": 3, "tokens": (100, 20)},
        {"seconds": 1, "tokens": (100, 20)},  # ties the first on tokens and cost
        {"seconds": 1, "tokens": (500, 50), "model": "claude-sonnet-4"},  # ties the second on duration
        {"seconds": 2, "model": None},  # a tool alone: no tokens, no cost
        {"seconds": 5, "model": "no-such-model", "tokens": (10, 10)},  # tokens, unknown cost
        {"finished": False},  # running: no duration
        {"finished": False, "model": None},
        {"seconds": 4, "tokens": (1, 1)},
        {"seconds": 2, "tokens": (100, 20)},
        {"seconds": 7, "tokens": (9000, 900), "model": "gpt-4o-mini"},
    ]
    for i, shape in enumerate(shapes):
        send(server.grpc_endpoint, start=T0 + (i % 4) * SECOND, agent=f"agent-{i % 3}", **shape)  # equal starts too
    try:
        yield server
    finally:
        server.stop()


def test_q_finds_text_in_the_whole_input_or_output_in_any_case(server: ServerHandle) -> None:
    long_input = "x" * 300 + " the Refund for ORDER 77"
    in_input = send(server.grpc_endpoint, input_text=long_input, output_text="done", start=T0)
    in_output = send(server.grpc_endpoint, input_text="ship it", output_text="Parcel shipped", start=T0 + SECOND)
    neither = send(server.grpc_endpoint, input_text="hello", output_text="world", agent="other", start=T0 + 2 * SECOND)
    assert ids(server, q="order 77") == [in_input]  # past the 200-character preview
    assert ids(server, q="PARCEL") == [in_output]
    assert ids(server, q="e") == [neither, in_output, in_input]  # hello, shipped, the
    assert ids(server, q="zebra") == []
    assert ids(server, q="") == [neither, in_output, in_input]  # empty: no filter
    assert ids(server, q="e", agent_id="other") == [neither]
    assert ids(server, q="shipped", sort="duration", order="asc") == [in_output]


def test_model_finds_runs_with_a_call_of_that_model(server: ServerHandle) -> None:
    gpt = send(server.grpc_endpoint, model="gpt-4o", start=T0)
    claude = send(server.grpc_endpoint, model="claude-sonnet-4", start=T0 + SECOND)
    send(server.grpc_endpoint, model=None, start=T0 + 2 * SECOND)
    assert ids(server, model="gpt-4o") == [gpt]
    assert ids(server, model="claude-sonnet-4") == [claude]
    assert ids(server, model="gpt-4") == []  # whole names only
    assert ids(server, model="gpt-4o", sort="tokens") == [gpt]
    assert get(server).json()[1]["models"] == ["claude-sonnet-4"]


@pytest.mark.parametrize("order", ["desc", "asc"])
@pytest.mark.parametrize("sort", list(KEYS))
def test_every_sort_pages_to_the_end_in_order_with_no_key_last(explorer: ServerHandle, sort: str, order: str) -> None:
    everything = get(explorer, limit=500).json()
    assert len(everything) == 10
    paged = every_page(explorer, sort=sort, order=order, limit=3)
    assert [run["run_id"] for run in paged] == expected(everything, sort, order)
    whole = ids(explorer, sort=sort, order=order, limit=500)
    assert whole == expected(everything, sort, order)
    if sort in ("duration", "cost"):  # the runs without a value are last either way
        assert [KEYS[sort](run) for run in paged][-2:] == [None, None]


def test_sorts_combine_with_filters_skip_and_paging(explorer: ServerHandle) -> None:
    everything = get(explorer, limit=500).json()
    agent = [run for run in everything if run["agent_id"] == "agent-1"]
    paged = every_page(explorer, sort="tokens", order="asc", agent_id="agent-1", limit=1)
    assert [run["run_id"] for run in paged] == expected(agent, "tokens", "asc")
    running = [run for run in everything if run["status"] == "running"]
    paged = every_page(explorer, sort="duration", status="running", limit=1)
    assert [run["run_id"] for run in paged] == expected(running, "duration", "desc")
    assert ids(explorer, sort="cost", order="asc", skip=2, limit=3) == expected(everything, "cost", "asc")[2:5]
    # a running run has no input yet (its root has not come): q leaves it out
    gpt = [run for run in everything if "gpt-4o" in run["models"] and "process" in (run["input"] or "").lower()]
    assert 0 < len(gpt) < sum("gpt-4o" in run["models"] for run in everything)
    paged = every_page(explorer, sort="start", order="asc", model="gpt-4o", q="process", limit=2)
    assert [run["run_id"] for run in paged] == expected(gpt, "start", "asc")
    default = every_page(explorer, q="PROCESS", model="gpt-4o", limit=2)  # the default order's windows
    assert [run["run_id"] for run in default] == expected(gpt, "start", "desc")


def test_a_cursor_is_for_its_own_order_and_unknown_orders_are_named(explorer: ServerHandle) -> None:
    by_duration = get(explorer, sort="duration", limit=2).headers["X-Next-Cursor"]
    newest_first = get(explorer, limit=2).headers["X-Next-Cursor"]
    for params in (
        {"sort": "tokens", "cursor": by_duration},
        {"sort": "duration", "order": "asc", "cursor": by_duration},
        {"cursor": by_duration},
        {"sort": "cost", "cursor": newest_first},
    ):
        response = get(explorer, limit=2, **params)
        assert response.status_code == 400, (params, response.text)
        assert "cursor was made for sort=" in response.json()["error"]["message"]
    assert get(explorer, sort="duration", cursor=by_duration).status_code == 200
    assert get(explorer, sort="start", order="desc", cursor=newest_first).status_code == 200  # the default, named
    message = get(explorer, sort="speed").json()["error"]["message"]
    assert message == "sort must be one of start, duration, tokens, cost; got 'speed'"
    message = get(explorer, order="up").json()["error"]["message"]
    assert message == "order must be one of desc, asc; got 'up'"


def test_a_statement_without_its_filter_placeholder_fails_loudly() -> None:
    with pytest.raises(ValueError, match=r"history_rows.sql must name \{history_filter\} once, found it 0 times"):
        filtered_sql("history_rows.sql", "history_filter.sql", frozenset())
