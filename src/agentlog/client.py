"""What the CLI reads and changes through: a running server over HTTP, or the file itself.

``connect`` picks: an explicit URL; else the server announced beside the
database file (``agentlog.discovery``); else the file, opened directly; else,
when the caller named no database and only reads, the one server running on
this machine (``agentlog.discovery.registered_servers``). Both
backends return the same JSON-able values, because the server's API returns
exactly what ``agentlog.query`` computes.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import duckdb
import httpx
import pyarrow as pa

from agentlog import discovery
from agentlog.errors import AgentlogError, Conflict, Forbidden, InvalidRequest, NotFound, StoreError, Unauthenticated
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH
from agentlog.proto.conventions import BUILT_IN
from agentlog.proto.conventions_file import load_conventions
from agentlog.query import (
    HistoryQuery,
    LogsQuery,
    MetricsQuery,
    SessionsQuery,
    StatsQuery,
    agent_metrics,
    as_values,
    list_runs,
    list_sessions,
    run_logs,
    run_stats,
    session_detail,
)
from agentlog.query.export import export_table
from agentlog.query.scope import Scope, scope_for
from agentlog.query.sql_console import run_sql
from agentlog.query.timefmt import days_ago, iso_utc, parse_time
from agentlog.settings import DEFAULT_API_URL, Settings
from agentlog.store import Database, Keyring, keys, renormalizing, repricing, retention, schedules, upkeep
from agentlog.store.keys import ADMINS, READERS, require
from agentlog.store.lake import is_lake

ARROW_STREAM = "application/vnd.apache.arrow.stream"
TIMEOUT_SECONDS = 120.0


class Backend(Protocol):
    """Everything the CLI does; see ``LocalBackend`` and ``RemoteBackend``."""

    where: str

    def history(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], str | None]: ...
    def sessions(self, query: SessionsQuery) -> tuple[list[dict[str, Any]], str | None]: ...
    def session(self, session_id: str) -> dict[str, Any]: ...
    def logs(self, query: LogsQuery) -> dict[str, Any]: ...
    def stats(self, query: StatsQuery) -> dict[str, Any]: ...
    def metrics(self, query: MetricsQuery) -> dict[str, Any]: ...
    def sql(self, sql: str, max_rows: int) -> tuple[pa.Table, bool]: ...
    def export(self, table: str, since_ns: int) -> pa.Table: ...
    def cleanup(self, days: int, dry_run: bool) -> dict[str, Any]: ...
    def schedule(self, days: int | None, every_seconds: int | None) -> dict[str, Any]: ...
    def reprice(self, since: str) -> dict[str, Any]: ...
    def renormalize(self, since: str | None, dry_run: bool, conventions: str | None) -> dict[str, Any]: ...
    def upkeep(self, changes: dict[str, int | None], run_now: bool) -> dict[str, Any]: ...
    def create_key(self, tenant: str, role: str, user: str | None, label: str | None) -> dict[str, Any]: ...
    def list_keys(self) -> list[dict[str, Any]]: ...
    def revoke_key(self, key_id: str) -> None: ...
    def close(self) -> None: ...


class LocalBackend:
    """The database file opened by this process (no server holds it).

    With an API key it acts exactly as a server would for that key: the key's
    tenant, user and role (Unauthenticated for a key the file does not know,
    once it has keys; Forbidden for a role that does not allow the command).
    Without one it is the local operator, whose access to the file is access
    to all of it: tenant ``default``'s runs, SQL over the whole database,
    every tenant's keys.
    """

    def __init__(self, database: Database, key: str | None = None) -> None:
        self._database = database
        self._cursor = database.cursor()
        try:
            self._principal = Keyring.load(self._cursor).principal(f"Bearer {key}") if key else None
        except Unauthenticated as error:
            self.close()
            raise Unauthenticated(
                f"{error.message}. On the database file itself, leave the key out (--key, AGENTLOG_API_KEY) "
                "to act as its operator"
            ) from None
        self._scope = scope_for(self._principal)
        self.where = f"file {database.path}"

    @property
    def _tenant_or_all(self) -> str | None:
        """The key's tenant; None for the operator (no key), who reaches the whole file."""
        return self._principal.tenant_id if self._principal else None

    def _as(self, roles: tuple[str, ...]) -> Scope:
        require(self._principal, *roles)
        return self._scope

    def history(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], str | None]:
        page = list_runs(self._cursor, self._as(READERS), query, time.time_ns())
        return page.runs, page.next_cursor

    def sessions(self, query: SessionsQuery) -> tuple[list[dict[str, Any]], str | None]:
        page = list_sessions(self._cursor, self._as(READERS), query)
        return page.sessions, page.next_cursor

    def session(self, session_id: str) -> dict[str, Any]:
        return session_detail(self._cursor, self._as(READERS), session_id)

    def logs(self, query: LogsQuery) -> dict[str, Any]:
        return as_values(run_logs(self._cursor, self._as(READERS), query))

    def stats(self, query: StatsQuery) -> dict[str, Any]:
        return run_stats(self._cursor, self._as(READERS), query, time.time_ns())

    def metrics(self, query: MetricsQuery) -> dict[str, Any]:
        return agent_metrics(self._cursor, self._as(READERS), query, time.time_ns())

    def sql(self, sql: str, max_rows: int) -> tuple[pa.Table, bool]:
        self._as(ADMINS)
        result = run_sql(self._cursor, sql, max_rows=max_rows, tenant=self._tenant_or_all)
        return result.table, result.truncated

    def export(self, table: str, since_ns: int) -> pa.Table:
        return export_table(self._cursor, self._as(ADMINS), table, since_ns)

    def cleanup(self, days: int, dry_run: bool) -> dict[str, Any]:
        tenant = self._as(ADMINS).tenant_id
        cutoff = days_ago(days, time.time_ns())
        if dry_run:
            counted = retention.count_expired(self._cursor, tenant, cutoff)
            return {"dry_run": True, "days": days, **counted.to_json()}
        deleted = retention.delete_expired_now(self._cursor, tenant, cutoff)
        self._database.checkpoint()
        return {"dry_run": False, "days": days, **deleted.to_json()}

    def schedule(self, days: int | None, every_seconds: int | None) -> dict[str, Any]:
        tenant = self._as(ADMINS).tenant_id
        found = schedules.schedules(self._cursor).get(tenant)
        if days is None and every_seconds is None:
            return (found or schedules.Schedule(tenant, 30, 3600)).to_json()
        new = schedules.set_schedule(
            self._cursor,
            tenant,
            days if days is not None else (found.days if found else 30),
            every_seconds if every_seconds is not None else (found.every_seconds if found else 3600),
        )
        return new.to_json()

    def reprice(self, since: str) -> dict[str, Any]:
        tenant = self._as(ADMINS).tenant_id
        return repricing.reprice(self._cursor, tenant, parse_time(since, "since")).to_json()

    def renormalize(self, since: str | None, dry_run: bool, conventions: str | None) -> dict[str, Any]:
        """By the conventions file ``conventions`` (None: AGENTLOG_CONVENTIONS's, as ``serve`` reads it; else the
        built-in table alone)."""
        tenant = self._as(ADMINS).tenant_id
        conventions = conventions or Settings.load().conventions
        chosen = load_conventions(conventions) if conventions else BUILT_IN
        since_ns = parse_time(since, "since") if since else 0
        result = renormalizing.renormalize(
            self._cursor, tenant, since_ns, chosen, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=dry_run
        )
        return {**result.to_json(), "conventions": chosen.source}

    def upkeep(self, changes: dict[str, int | None], run_now: bool) -> dict[str, Any]:
        """The lake's upkeep, after making ``changes`` (settings to set; None: the default) and running a
        pass now (claimed as a server's would be: Conflict if another process's claim comes first). Its
        defaults are what ``agentlog serve`` would take here (AGENTLOG_UPKEEP_*)."""
        self._as(ADMINS)
        if not self._database.is_lake:
            raise Conflict(upkeep.NOT_A_LAKE)
        defaults = Settings.load().upkeep_defaults
        if changes:
            checked = {name: upkeep.checked(name, value) for name, value in changes.items()}
            upkeep.change(self._cursor, time.time_ns(), **checked)
        if run_now and upkeep.run(self._cursor, time.time_ns, defaults, upkeep.process_name(), force=True) is None:
            raise Conflict("another agentlog process started a lake upkeep pass at the same moment; try again")
        return upkeep.read(self._cursor).to_json(defaults)

    def create_key(self, tenant: str, role: str, user: str | None, label: str | None) -> dict[str, Any]:
        self._as(ADMINS)
        tenant = keys.managed_tenant(self._principal, tenant)
        key, granted = keys.create_key(self._cursor, tenant, role, user, label)
        return {"key": key, "key_id": granted.key_id, "tenant_id": tenant, "role": role, "user_id": user}

    def list_keys(self) -> list[dict[str, Any]]:
        self._as(ADMINS)
        return keys.list_keys(self._cursor, self._tenant_or_all)

    def revoke_key(self, key_id: str) -> None:
        self._as(ADMINS)
        keys.revoke_key(self._cursor, key_id, self._tenant_or_all)

    def close(self) -> None:
        self._cursor.close()
        self._database.close()


class RemoteBackend:
    """A running agentlog server, through its HTTP API."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=TIMEOUT_SECONDS, headers=headers or {})
        self.where = f"server {url}"

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        return self._checked(self._http.get(path, params={k: v for k, v in params.items() if v is not None}))

    def _post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return self._checked(self._http.post(path, json=body, headers=headers))

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text or response.reason_phrase
        if response.status_code == 404:
            raise NotFound(message)
        if response.status_code == 401:
            raise Unauthenticated(f"{message} (pass --key or set AGENTLOG_API_KEY)")
        if response.status_code == 403:
            raise Forbidden(message)
        if response.status_code == 409:
            raise Conflict(message)
        if response.status_code < 500:
            raise InvalidRequest(message)
        raise StoreError(f"the server failed: {message}")

    def history(self, query: HistoryQuery) -> tuple[list[dict[str, Any]], str | None]:
        params = asdict(query)
        params = {
            "agent_id": params["agent_id"], "user_id": params["user_id"], "session_id": params["session_id"],
            "status": params["status"], "skip": params["skip"] or None, "limit": params["limit"],
            "cursor": params["cursor"], "q": query.q, "model": query.model,
            "sort": query.order.sort, "order": query.order.direction,
        }  # fmt: skip
        response = self._get("/api/v1/agents/history", params)
        return response.json(), response.headers.get("X-Next-Cursor")

    def sessions(self, query: SessionsQuery) -> tuple[list[dict[str, Any]], str | None]:
        params = {"agent_id": query.agent_id, "user_id": query.user_id, "q": query.q, "limit": query.limit,
                  "cursor": query.cursor}  # fmt: skip
        page = self._get("/api/v1/agents/sessions", params).json()
        return page["sessions"], page["next_cursor"]

    def session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._get(f"/api/v1/agents/sessions/{quote(session_id, safe='')}", {}).json()
        return result

    def logs(self, query: LogsQuery) -> dict[str, Any]:
        params = {"run_id": query.run_id, "limit": query.limit, "cursor": query.cursor, "span_id": query.span_id,
                  "outline": "true" if query.outline else None}  # fmt: skip
        result: dict[str, Any] = self._get("/api/v1/agents/logs", params).json()
        return result

    def stats(self, query: StatsQuery) -> dict[str, Any]:
        params = {"user_id": query.user_id, "agent_id": query.agent_id, "days": query.days}
        result: dict[str, Any] = self._get("/api/v1/agents/stats", params).json()
        return result

    def metrics(self, query: MetricsQuery) -> dict[str, Any]:
        result: dict[str, Any] = self._get(
            "/api/v1/agents/metrics", {"agent_id": query.agent_id, "days": query.days}
        ).json()
        return result

    def sql(self, sql: str, max_rows: int) -> tuple[pa.Table, bool]:
        response = self._post("/api/v1/sql", {"sql": sql, "max_rows": max_rows}, accept=ARROW_STREAM)
        table = pa.ipc.open_stream(response.content).read_all()
        return table, response.headers.get("X-Truncated") == "true"

    def export(self, table: str, since_ns: int) -> pa.Table:
        response = self._get("/api/v1/export", {"table": table, "since": iso_utc(since_ns)})
        return pa.ipc.open_stream(response.content).read_all()

    def cleanup(self, days: int, dry_run: bool) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/api/v1/executions/cleanup", {"days": days, "dry_run": dry_run}).json()
        return result

    def schedule(self, days: int | None, every_seconds: int | None) -> dict[str, Any]:
        if days is None and every_seconds is None:
            current: dict[str, Any] = self._get("/api/v1/executions/schedule", {}).json()
            return current
        body = {k: v for k, v in {"days": days, "every_seconds": every_seconds}.items() if v is not None}
        result: dict[str, Any] = self._post("/api/v1/executions/schedule", body).json()
        return result

    def reprice(self, since: str) -> dict[str, Any]:
        result: dict[str, Any] = self._post("/api/v1/executions/reprice", {"since": since}).json()
        return result

    def renormalize(self, since: str | None, dry_run: bool, conventions: str | None) -> dict[str, Any]:
        if conventions:
            raise InvalidRequest(
                "a server re-normalises by the conventions it was started with (agentlog serve --conventions): "
                "leave --conventions out, or stop the server and run this on its database file (--db)"
            )
        body = {"since": since, "dry_run": dry_run}
        result: dict[str, Any] = self._post("/api/v1/executions/renormalize", body).json()
        return result

    def upkeep(self, changes: dict[str, int | None], run_now: bool) -> dict[str, Any]:
        result: dict[str, Any] = (
            self._post("/api/v1/lake/upkeep", changes).json()
            if changes
            else self._get("/api/v1/lake/upkeep", {}).json()
        )
        if run_now:
            result = self._post("/api/v1/lake/upkeep/run", {}).json()
        return result

    def create_key(self, tenant: str, role: str, user: str | None, label: str | None) -> dict[str, Any]:
        body = {"tenant": tenant, "role": role, "user": user, "label": label}
        result: dict[str, Any] = self._post("/api/v1/keys", {k: v for k, v in body.items() if v is not None}).json()
        return result

    def list_keys(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/api/v1/keys", {}).json()
        return result

    def revoke_key(self, key_id: str) -> None:
        self._checked(self._http.delete(f"/api/v1/keys/{key_id}"))

    def close(self) -> None:
        self._http.close()


class DatabaseBusy(AgentlogError):
    """Another process holds the database file and announced no server we can reach."""


def connect(
    db: str,
    url: str | None = None,
    key: str | None = None,
    registry: str | Path | None = None,
    *,
    changes: bool = False,
    data_path: str | None = None,
) -> Backend:
    """The backend for a command: ``url`` if given; else the server announced for ``db``; else the
    file itself. Else, when ``registry`` is given (the caller named no database), the one server
    running on this machine (``agentlog.discovery.registered_servers``), but only for a command
    that reads: one that ``changes`` data is refused (NotFound), naming the server it would have
    reached, for the user to choose it with ``--url`` if it is the one they mean. A lake (``ducklake:...``)
    is always opened here, ``data_path`` naming its files if the command makes it."""
    headers = {"Authorization": f"Bearer {key}"} if key else None
    if url:
        return RemoteBackend(url, headers)
    if is_lake(db):  # a lake is shared by design: read (and write) it directly, whatever else runs
        return _open_file(db, key, data_path)
    server = discovery.find_server(db)
    if server is not None:
        return RemoteBackend(server.api_url, headers)
    if db == ":memory:" or Path(db).exists():
        return _open_file(db, key)
    if registry is None:
        raise NotFound(
            f"no database at {db}: start `agentlog serve --db {db}`, or point to a running server with "
            "--url URL (or AGENTLOG_URL)"
        )
    found = _the_running_server(db, registry)
    if changes:
        raise NotFound(
            f"no database here ({db}), and this command changes data: it acts only on a database named with "
            f"--db FILE (or AGENTLOG_DB), one in the current directory, or a server named with --url URL (or "
            f"AGENTLOG_URL), never on a server merely found running. Running: {_described(found)}; if that is "
            f"the one, pass --url {found.api_url}"
        )
    return RemoteBackend(found.api_url, headers)


def _the_running_server(db: str, registry: str | Path) -> discovery.ServerInfo:
    """The one live server in ``registry``; NotFound if none, InvalidRequest if several."""
    try:
        servers = discovery.registered_servers(registry)
    except discovery.Untrusted as error:
        raise NotFound(
            f"no database here ({db}), and the registry of running servers is not used: {error.message} (it "
            "must be a directory of yours that no other user can write). Point to a server with --url URL (or "
            "AGENTLOG_URL), or to a database file with --db FILE (or AGENTLOG_DB)"
        ) from None
    if len(servers) == 1:
        return servers[0]
    if servers:
        raise InvalidRequest(
            f"{len(servers)} agentlog servers are running: {'; '.join(map(_described, servers))}. Choose one "
            "with --url URL (or AGENTLOG_URL), or its database with --db FILE (or AGENTLOG_DB)"
        )
    raise NotFound(
        f"no database here ({db}) and no running agentlog server found. Point to a server with --url URL "
        f"(or AGENTLOG_URL, e.g. {DEFAULT_API_URL}), or to a database file with --db FILE (or AGENTLOG_DB); "
        "or start one with `agentlog serve`"
    )


def _described(server: discovery.ServerInfo) -> str:
    return f"{server.api_url} (database {server.db})"


def _open_file(db: str, key: str | None, data_path: str | None = None) -> LocalBackend:
    """The database ``db`` opened by this process (``data_path``: a new lake's files)."""
    try:
        database = Database.open(db, data_path=data_path)
    except StoreError as error:
        if "lock" in str(error).lower():
            raise DatabaseBusy(
                f"{db} is open in another process, and no agentlog server for it answers. "
                "If a server holds it, pass its address with --url (or AGENTLOG_URL); otherwise close the "
                "other program and try again."
            ) from None
        raise
    except duckdb.Error as error:
        raise StoreError(f"cannot open {db}: {error}") from None
    return LocalBackend(database, key)
