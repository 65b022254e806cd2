"""A database that has had keys stays locked: revoking every key never opens the server again."""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from agentlog.errors import Unauthenticated
from agentlog.server import check_exposure
from agentlog.settings import Settings
from agentlog.store import Database, Keyring
from agentlog.store.keys import create_key
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _keys(db_path: Path) -> tuple[str, str]:
    database = Database.open(db_path)
    cursor = database.cursor()
    admin, _ = create_key(cursor, "acme", "admin")
    read, _ = create_key(cursor, "acme", "read")
    database.close()
    return admin, read


def _revoke_every_key(server: ServerHandle, admin: str, read: str) -> None:
    for key in (read, admin):  # the admin revokes itself last
        revoked = httpx.delete(f"{server.api_url}/api/v1/keys/{key.split('_')[1]}", headers=_bearer(admin))
        assert revoked.status_code == 204, revoked.text


def _assert_locked(server: ServerHandle, *stale_keys: str) -> None:
    api = server.api_url
    for headers in ({}, *(_bearer(key) for key in stale_keys)):
        assert httpx.get(f"{api}/api/v1/agents/history", headers=headers).status_code == 401
        sql = httpx.post(f"{api}/api/v1/sql", json={"sql": "SELECT count(*) FROM spans"}, headers=headers)
        assert sql.status_code == 401, sql.text
        # Nobody may mint a key as if the database were new.
        minted = httpx.post(f"{api}/api/v1/keys", json={"tenant": "x", "role": "admin"}, headers=headers)
        assert minted.status_code == 401, minted.text
        body = make_request(agent_spans(2)).SerializeToString()
        assert httpx.post(server.http_url, content=body, headers={**PROTOBUF, **headers}).status_code == 401
    with pytest.raises(grpc.RpcError) as caught:
        export_raw(server.grpc_endpoint, make_request(agent_spans(2)).SerializeToString())
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    live = f"ws://127.0.0.1:{server.running.api_port}/api/v1/agents/live"
    with pytest.raises(InvalidStatus, match=r"HTTP 403"), connect(live, open_timeout=10) as ws:
        ws.recv(timeout=10)
    assert server.query("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL") == [(0,)]


def test_revoking_every_key_at_run_time_keeps_the_server_locked(db_path: Path) -> None:
    admin, read = _keys(db_path)
    server = start_server(db=str(db_path))
    try:
        assert httpx.get(f"{server.api_url}/api/v1/agents/history", headers=_bearer(read)).status_code == 200
        _revoke_every_key(server, admin, read)
        _assert_locked(server, admin, read)
        assert server.span_count() == 0
    finally:
        server.stop()


def test_a_database_whose_keys_are_all_revoked_starts_locked(db_path: Path) -> None:
    admin, read = _keys(db_path)
    database = Database.open(db_path)
    database.cursor().execute("UPDATE api_keys SET revoked_at = now()")
    database.close()
    server = start_server(db=str(db_path))
    try:
        _assert_locked(server, admin, read)
    finally:
        server.stop()


def test_a_keyring_never_unlocks(db_path: Path) -> None:
    database = Database.open(db_path)
    cursor = database.cursor()
    keyring = Keyring.load(cursor)
    assert not keyring.enabled and keyring.principal(None) is None  # a new database: open, local
    create_key(cursor, "acme", "admin")
    cursor.execute("UPDATE api_keys SET revoked_at = now()")
    keyring.reload(cursor)
    assert keyring.enabled
    cursor.execute("DELETE FROM api_keys")  # even a key table emptied behind its back
    keyring.reload(cursor)
    assert keyring.enabled
    database.close()


def test_a_public_bind_is_refused_only_while_the_database_is_open(db_path: Path) -> None:
    """A locked database (keys, even all revoked) answers nobody without a valid key: it may bind publicly."""
    public = Settings.load({"host": "0.0.0.0"}, environ={})
    database = Database.open(db_path)
    cursor = database.cursor()
    create_key(cursor, "acme", "admin")
    cursor.execute("UPDATE api_keys SET revoked_at = now()")
    keyring = Keyring.load(cursor)
    database.close()
    check_exposure(public, keyring)
    with pytest.raises(Unauthenticated):
        keyring.principal(None)
