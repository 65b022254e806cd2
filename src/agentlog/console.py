"""Rich renderings of what the read side returns: tables, panels, trees."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from agentlog.query.json_values import table_rows

STATUS_STYLE = {"success": "green", "completed": "green", "failed": "bold red", "running": "yellow"}


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _cents(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def _short(text: str | None, width: int = 40) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


WIDE = 130
"""Terminal width from which history also shows each run's input."""


def history_table(runs: list[dict[str, Any]], width: int = WIDE) -> Table:
    """Runs as a table; narrow terminals get 12-digit run ids (``agentlog logs`` takes a unique
    prefix, as git takes short commit ids) and no input column."""
    table = Table(title="Execution history", title_justify="left", header_style="bold", box=None, padding=(0, 1))
    wide = width >= WIDE
    table.add_column("run_id", no_wrap=True)
    table.add_column("agent", no_wrap=True, max_width=18, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    table.add_column("started (UTC)", no_wrap=True)
    for name in ("time", "nodes", "tokens", "cost ¢"):
        table.add_column(name, justify="right", no_wrap=True)
    if wide:
        table.add_column("input", overflow="ellipsis", no_wrap=True, max_width=40)
    for run in runs:
        cells: list[Any] = [
            run["run_id"] if wide else run["run_id"][:12],
            run.get("agent_id") or "",
            _status(run["status"]),
            run["started_at"][5:16].replace("T", " "),
            run["duration"] or "…",
            str(run["node_count"]),
            str(run["tokens_used"]),
            _cents(run["cost_cents"]),
        ]
        if wide:
            cells.append(_short(run["input"]))
        table.add_row(*cells)
    return table


def sessions_table(sessions: list[dict[str, Any]], width: int = WIDE) -> Table:
    """Sessions as a table, the latest first; narrow terminals (under 100 columns) get no agents column."""
    table = Table(title="Sessions", title_justify="left", header_style="bold", box=None, padding=(0, 1))
    wide = width >= 100
    table.add_column("session_id", no_wrap=True, max_width=24, overflow="ellipsis")
    table.add_column("user", no_wrap=True, max_width=12, overflow="ellipsis")
    if wide:
        table.add_column("agents", no_wrap=True, max_width=30, overflow="ellipsis")
    table.add_column("last run (UTC)", no_wrap=True)
    for name in ("runs", "failed", "tokens", "cost ¢"):
        table.add_column(name, justify="right", no_wrap=True)
    for session in sessions:
        agents = [", ".join(session["agent_ids"])] if wide else []
        table.add_row(
            session["session_id"],
            session["user_id"] or "",
            *agents,
            session["last_started_at"][5:16].replace("T", " "),
            str(session["runs"]),
            str(session["failed_runs"]),
            str(session["tokens"]["total"]),
            _cents(session["cost_cents"]),
        )
    return table


def session_view(session: dict[str, Any], width: int = WIDE) -> Group:
    """A session's figures, then its runs oldest first."""
    header = Text.assemble(
        (session["session_id"], "bold"), "  ", session["user_id"] or "", "  ",
        f"{session['runs']} runs, {session['failed_runs']} failed, {session['running_runs']} running, ",
        f"{session['tokens']['total']} tokens, {_cents(session['cost_cents'])}¢",
    )  # fmt: skip
    table = history_table(session["items"], width)
    table.title = "Runs, oldest first" + (" (the first ones only)" if session["truncated"] else "")
    return Group(header, table)


def logs_view(logs: dict[str, Any]) -> Group:
    summary = logs["summary"]
    header = Text.assemble(
        (logs.get("agent_id") or "run", "bold"), "  ", _status(logs["status"]), "  ",
        f"{summary['total_nodes']} nodes, {summary['successful_nodes']} ok, {summary['failed_nodes']} failed, ",
        f"{summary['total_duration'] or 'running'}, {summary['tokens']['total']} tokens, ",
        f"{_cents(summary['cost_cents'])}¢",
    )  # fmt: skip
    tree = Tree(Text(logs["run_id"], style="dim"))
    branches: dict[int, Tree] = {0: tree}
    for node in logs["nodes"]:
        depth = node["depth"] or 1
        parent = branches.get(depth - 1, tree)
        label = Text.assemble(
            ("✗ " if node["status"] == "failed" else "… " if node["status"] == "running" else "✓ ",
             STATUS_STYLE.get(node["status"], "")),
            (node["id"], "bold"), f"  {node['type']}",
            f" · {node['model']}" if node.get("model") else "",
            f" · {node['time'] or 'running'}",
            f" · {node['tokens']['total']} tokens" if node["tokens"]["total"] else "",
        )  # fmt: skip
        if node.get("error"):
            label.append(f"\n  {node['error']['type']}: {node['error']['message']}", style="red")
        branches[depth] = parent.add(label)
    parts: list[Any] = [header, tree]
    for error in logs["errors"]:
        parts.append(Text(f"✗ {error['node']}: {error['type']}: {error['message']}", style="red"))
    if logs.get("final_output"):
        parts.append(Panel(logs["final_output"], title="final output", title_align="left"))
    if logs.get("next_cursor"):
        parts.append(Text(f"more nodes: --cursor {logs['next_cursor']}", style="dim"))
    return Group(*parts)


def node_view(logs: dict[str, Any]) -> Group:
    """The one node of ``agentlog logs RUN --span ID``: the run's line, the node's, then what it holds."""
    parts: list[Any] = [logs_view({**logs, "errors": [], "final_output": None})]
    for node in logs["nodes"]:
        for field in ("input", "output"):
            if node.get(field) is not None:
                parts.append(Panel(node[field], title=field, title_align="left"))
        attributes = Table("attribute", "value", box=None)
        for name, value in sorted((node.get("attributes") or {}).items()):
            attributes.add_row(name, value if isinstance(value, str) else json.dumps(value))
        parts.append(attributes)
        for event in [*node.get("events", []), *node.get("log_records", [])]:
            parts.append(Text(f"{event.get('time') or ''}  {event.get('name') or event.get('event_name') or 'log'}"))
    return Group(*parts)


def stats_panel(stats: dict[str, Any]) -> Group:
    who = stats.get("user_id") or "all users"
    rate = "—" if stats["success_rate"] is None else f"{stats['success_rate']:.0%}"
    head = Table.grid(padding=(0, 2))
    for label, value in (
        ("runs", stats["runs"]), ("success rate", rate),
        ("avg duration", _ms(stats["avg_duration_ms"])), ("p95 duration", _ms(stats["p95_duration_ms"])),
        ("tokens", stats["tokens"]["total"]), ("cost", f"${stats['cost_usd']:.4f}"),
    ):  # fmt: skip
        head.add_row(Text(label, style="bold"), str(value))
    days = Table(header_style="bold")
    for column in ("date", "runs", "success rate", "tokens", "cost ¢"):
        days.add_column(column, justify="left" if column == "date" else "right")
    for day in stats["per_day"]:
        day_rate = "—" if day["success_rate"] is None else f"{day['success_rate']:.0%}"
        days.add_row(day["date"], str(day["runs"]), day_rate, str(day["tokens"]["total"]), _cents(day["cost_cents"]))
    return Group(Panel(head, title=f"{who}, last {stats['days']} days", title_align="left"), days)


def metrics_view(metrics: dict[str, Any]) -> Group:
    parts: list[Any] = []
    for agent in metrics["agents"]:
        d = agent["duration_ms"]
        rate = "—" if agent["error_rate"] is None else f"{agent['error_rate']:.0%}"
        head = Text.assemble(
            (agent["agent_id"] or "(unnamed)", "bold"),
            f"  {agent['runs']} runs · error rate {rate} · p50 {_ms(d['p50'])} · p95 {_ms(d['p95'])} · "
            f"p99 {_ms(d['p99'])} · {agent['tokens_per_run'] or 0:.0f} tokens/run",
        )
        facets = Table(header_style="bold")
        for column in ("by", "name", "calls", "errors", "avg", "tokens in", "tokens out"):
            facets.add_column(column, justify="left" if column in ("by", "name") else "right")
        for facet, rows in (("type", agent["by_node_type"]), ("model", agent["by_model"]), ("tool", agent["tools"])):
            for row in rows:
                figures = (
                    row["calls"],
                    row["errors"],
                    _ms(row["avg_duration_ms"]),
                    row["input_tokens"],
                    row["output_tokens"],
                )
                facets.add_row(facet, str(row["name"]), *map(str, figures))
        parts.append(Panel(Group(head, facets), title_align="left"))
    if not parts:
        parts.append(Text(f"no runs in the last {metrics['days']} days", style="dim"))
    return Group(*parts)


def arrow_table(table: pa.Table, truncated: bool) -> Table:
    rich_table = Table(header_style="bold", caption=f"{table.num_rows} rows" + (" (truncated)" if truncated else ""))
    for name in table.column_names:
        rich_table.add_column(name)
    for row in table_rows(table):
        rich_table.add_row(*(_cell(value) for value in row))
    return rich_table


def _cell(value: Any) -> str:
    """A JSON value (``json_values``) as table text: lists and objects as JSON."""
    if value is None:
        return "NULL"
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}ms" if value < 1000 else f"{value / 1000:.1f}s"


def keys_table(keys: list[dict[str, Any]]) -> Table:
    table = Table(header_style="bold")
    for column in ("key_id", "tenant", "role", "user", "label", "state"):
        table.add_column(column)
    for key in keys:
        state = Text("revoked", style="red") if key["revoked_ms"] else Text("active", style="green")
        table.add_row(key["key_id"], key["tenant_id"], key["role"], key["user_id"] or "", key["label"] or "", state)
    return table
