"""Run id prefixes are confined like full ids: a user-bound key cannot tell another user's run from none."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request, make_span

SHARED = bytes.fromhex("5a5a5a5a")  # alice's run and one of bob's start alike
BOBS = bytes.fromhex("b0b0b0b0")  # two of bob's runs start alike
UNKNOWN = "0f0f0f0f0f"  # no run starts so


@dataclass
class Runs:
    server: ServerHandle
    alice_key: str
    tenant_key: str
    alice: str
    bob_shared: str
    bob_1: str
    bob_2: str

    def logs(self, key: str, run_id: str) -> httpx.Response:
        return httpx.get(f"{self.server.api_url}/api/v1/agents/logs", params={"run_id": run_id},
                         headers={"Authorization": f"Bearer {key}"}, timeout=10)  # fmt: skip


def _send(server: ServerHandle, ingest: str, user: str, prefix: bytes) -> str:
    trace_id = prefix + os.urandom(16 - len(prefix))
    spans = agent_spans(2, trace_id=trace_id)
    spans[0].attributes.extend(make_span(attributes={"user.id": user}).attributes)
    export_raw(server.grpc_endpoint, make_request(spans).SerializeToString(),
               metadata=(("authorization", f"Bearer {ingest}"),))  # fmt: skip
    return trace_id.hex()


@pytest.fixture
def runs(db_path: Path) -> Iterator[Runs]:
    database = Database.open(db_path)
    cursor = database.cursor()
    ingest = create_key(cursor, "a", "ingest")[0]
    alice_key = create_key(cursor, "a", "read", "alice")[0]
    tenant_key = create_key(cursor, "a", "read")[0]
    database.close()
    server = start_server(db=str(db_path))
    try:
        yield Runs(
            server,
            alice_key,
            tenant_key,
            alice=_send(server, ingest, "alice", SHARED),
            bob_shared=_send(server, ingest, "bob", SHARED),
            bob_1=_send(server, ingest, "bob", BOBS),
            bob_2=_send(server, ingest, "bob", BOBS),
        )
    finally:
        server.stop()


@pytest.mark.parametrize("length", [8, 12, 31])
def test_another_users_run_prefix_answers_exactly_as_an_unknown_prefix(runs: Runs, length: int) -> None:
    unknown = (UNKNOWN * 4)[:length]
    missing = runs.logs(runs.alice_key, unknown)
    assert missing.status_code == 404
    for bobs in (runs.bob_1[:length], runs.bob_shared[:length]):  # at 8 digits, bob_1's is bob_2's too
        if runs.alice.startswith(bobs):
            continue  # the shared prefix finds alice's own run: checked below
        answer = runs.logs(runs.alice_key, bobs)
        assert answer.status_code == missing.status_code
        assert answer.headers["content-type"] == missing.headers["content-type"]
        assert answer.content.replace(bobs.encode(), unknown.encode()) == missing.content


def test_several_runs_are_counted_within_the_keys_scope(runs: Runs) -> None:
    # bob's two runs share 8 digits: for alice that prefix is unknown, not ambiguous
    missing = runs.logs(runs.alice_key, UNKNOWN[:8])
    two_of_bobs = runs.logs(runs.alice_key, runs.bob_1[:8])
    assert two_of_bobs.content.replace(runs.bob_1[:8].encode(), UNKNOWN[:8].encode()) == missing.content
    # alice's run shares 8 digits with one of bob's: for alice the prefix is hers alone
    mine = runs.logs(runs.alice_key, runs.alice[:8])
    assert mine.status_code == 200 and mine.json()["run_id"] == runs.alice
    # a key that sees the whole tenant sees both, and is asked for more digits
    ambiguous = runs.logs(runs.tenant_key, runs.alice[:8])
    assert ambiguous.status_code == 400 and "matches several runs" in ambiguous.text
    assert runs.logs(runs.tenant_key, runs.bob_shared[:12]).json()["run_id"] == runs.bob_shared
