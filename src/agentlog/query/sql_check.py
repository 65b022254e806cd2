"""What a read-only SQL query may read, decided on DuckDB's own parse tree.

``json_serialize_sql`` gives the tree DuckDB parsed from the text; nothing here
looks at the text itself. The walk refuses what it does not know (fail closed):
a node type it has no rule for, a tree DuckDB cannot serialise, a tree nested
too deeply to walk.

Table names resolve as DuckDB resolves them. A common table expression (CTE)
is visible only inside the query that defines it: to that query's body, to
the bodies of the CTEs defined after it in the same ``WITH``, and, for a
recursive CTE, to the recursive branch of its own body. A CTE's own body and
the anchor of a recursive CTE do not see the CTE (DuckDB reads the table of
that name there), and a qualified name (``main.x``) never means a CTE. Names
compare as DuckDB compares them: ASCII letters without regard to case,
everything else exactly. Any other name must be a table or view the caller
may read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from agentlog.errors import InvalidRequest

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})

# Scalar, aggregate and window functions a tenant may not call: each reveals the
# server's settings, environment, catalog or other tenants' statistics, or
# parses or plans SQL against the whole catalog. Files are out of reach anyway
# (the database runs with external access off).
TENANT_DENIED_FUNCTIONS = frozenset(
    {
        "current_setting", "getenv", "getvariable", "stats", "current_database", "current_catalog",
        "current_schema", "current_schemas", "in_search_path", "current_user", "session_user", "user",
        "nextval", "currval", "setval", "query", "query_table", "glob", "which_secret", "col_description",
        "obj_description", "shobj_description", "format_type", "format_pg_type", "json_serialize_sql",
        "json_deserialize_sql", "json_serialize_plan", "json_execute_serialized_sql", "sql_auto_complete",
        "get_block_size", "current_role",
    }
)  # fmt: skip
TENANT_DENIED_PREFIXES = ("duckdb_", "pg_", "pragma_", "read_", "parquet_", "sniff_", "has_", "icu_")

# The schema DuckDB's parser itself writes on the functions behind built-in syntax (``[1, 2]`` is
# ``main.list_value``, ``EXTRACT`` is ``main.date_part``, ``trim``, ``(a, b)``, ``MAP {}``, lambdas...),
# so a call qualified by it alone is an ordinary call. ``main.f()`` finds nothing an unqualified ``f()``
# would not (the temporary schema, the database's and the system's ``main``), and the deny-list above
# applies to every call however it is qualified; any catalog or any other schema is refused.
_BUILT_IN_SCHEMA = "main"
# The parser's query nodes; the walk refuses any other (a DML node, a bound node).
_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"})
# Every table reference type DuckDB serialises; those not handled below are refused.
_TABLE_REFS = frozenset(
    {"INVALID", "BASE_TABLE", "SUBQUERY", "JOIN", "TABLE_FUNCTION", "EXPRESSION_LIST", "CTE", "EMPTY", "EMPTY_FROM",
     "PIVOT", "SHOW_REF", "COLUMN_DATA", "DELIM_GET", "BOUND_TABLE_REF"}
)  # fmt: skip
_PLAIN_REFS = frozenset({"SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY", "EMPTY_FROM", "PIVOT"})
# What ``DESCRIBE query`` and ``SUMMARIZE query`` serialise as; SHOW TABLES and the like are other types.
_SHOW_QUERY = frozenset({"DESCRIBE", "SUMMARY"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """A name as DuckDB compares names: ASCII letters lower-cased, nothing else changed."""
    return name.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Rules:
    """What a query may read: ``tables`` (folded names); ``tenant``: only those, unqualified, no
    function on the tenant's deny-list, no function qualified by a catalog or a schema other than
    ``main``, no SHOW."""

    tables: frozenset[str]
    tenant: bool


def parse_tree(cursor: Any, sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of ``sql``'s one statement; InvalidRequest if DuckDB cannot serialise it."""
    raw = cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    try:
        tree = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest("this query is nested too deeply to check") from None
    if tree.get("error"):
        raise InvalidRequest(f"only plain SELECT queries are allowed: {tree.get('error_message')}")
    statements = tree.get("statements")
    if not isinstance(statements, list) or len(statements) != 1:
        raise InvalidRequest("send exactly one SELECT statement")
    node: dict[str, Any] = statements[0]
    return node


def check_tree(statement: dict[str, Any], rules: Rules) -> None:
    """InvalidRequest unless everything ``statement`` (from ``parse_tree``) reads is allowed by ``rules``."""
    try:
        _Walk(rules).value(statement.get("node"), frozenset())
    except RecursionError:
        raise InvalidRequest("this query is nested too deeply to check") from None


def table_names(cursor: Any) -> frozenset[str]:
    """Every table and view of the cursor's database, folded."""
    rows = cursor.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return frozenset(fold(str(row[0])) for row in rows)


class _Walk:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules

    def value(self, node: Any, ctes: frozenset[str]) -> None:
        """Any part of the tree; ``ctes`` are the CTE names (folded) visible at this point."""
        if isinstance(node, list):
            for item in node:
                self.value(item, ctes)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        kind = kind if isinstance(kind, str) else None  # a constant's "type" is its data type, a dict
        if "cte_map" in node or kind in _QUERY_NODES:
            self.query(node, ctes)
        elif "class" in node:
            self.expression(node, ctes)
        elif kind in _TABLE_REFS:
            self.table_ref(node, ctes)
        else:
            self.children(node.values(), ctes)

    def children(self, values: Iterable[Any], ctes: frozenset[str]) -> None:
        for item in values:
            self.value(item, ctes)

    def query(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        kind = node.get("type")
        if kind not in _QUERY_NODES:
            raise InvalidRequest(f"only SELECT queries are allowed (found {kind})")
        visible = ctes
        for entry in (node.get("cte_map") or {}).get("map") or []:
            self.value(entry.get("value"), visible)  # a CTE's body sees only the CTEs before it
            visible = visible | {fold(str(entry.get("key", "")))}
        rest = {key: value for key, value in node.items() if key != "cte_map"}
        if kind == "RECURSIVE_CTE_NODE":
            # The recursive branch reads the CTE itself; the anchor reads whatever the name meant before.
            self.value(rest.pop("left", None), visible)
            self.value(rest.pop("right", None), visible | {fold(str(node.get("cte_name", "")))})
        self.children(rest.values(), visible)

    def table_ref(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        kind = node["type"]
        if kind == "BASE_TABLE":
            self.base_table(node, ctes)
        elif kind == "TABLE_FUNCTION":
            self.table_function(node.get("function") or {})
        elif kind == "SHOW_REF":
            self.show(node)
            return
        elif kind not in _PLAIN_REFS:
            raise InvalidRequest(f"this kind of FROM item ({kind}) is not allowed")
        self.children(node.values(), ctes)

    def base_table(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        name = str(node.get("table_name", ""))
        qualified = bool(node.get("schema_name") or node.get("catalog_name"))
        if not qualified and fold(name) in ctes:
            return
        if self.rules.tenant and qualified:
            raise InvalidRequest(f"use the views {_listed(self.rules.tables)} unqualified")
        if fold(name) not in self.rules.tables:
            views = f"only the views {_listed(self.rules.tables)}" if self.rules.tenant else "the database only"
            raise InvalidRequest(f"no table or view named {name!r} (SQL reads {views})")

    def table_function(self, function: dict[str, Any]) -> None:
        name = fold(str(function.get("function_name", "")))
        if name not in ALLOWED_TABLE_FUNCTIONS or function.get("schema") or function.get("catalog"):
            raise InvalidRequest(f"table function {name}() is not allowed: this SQL reads the database only")

    def show(self, node: dict[str, Any]) -> None:
        """DESCRIBE or SUMMARIZE of a query (for a tenant); any SHOW for the operator.
        The query inside is checked with no CTE visible (it is bound on its own)."""
        if self.rules.tenant and (node.get("show_type") not in _SHOW_QUERY or node.get("table_name")):
            raise InvalidRequest(f"SHOW is not allowed: the views are {_listed(self.rules.tables)}")
        self.value(node.get("query"), frozenset())

    def expression(self, node: dict[str, Any], ctes: frozenset[str]) -> None:
        if self.rules.tenant and "function_name" in node:
            name = fold(str(node.get("function_name", "")))
            if node.get("catalog") or fold(str(node.get("schema") or _BUILT_IN_SCHEMA)) != _BUILT_IN_SCHEMA:
                raise InvalidRequest(f"call {name}() unqualified")
            if name in TENANT_DENIED_FUNCTIONS or name.startswith(TENANT_DENIED_PREFIXES):
                raise InvalidRequest(f"function {name}() is not allowed: it reads beyond your tenant's views")
        self.children(node.values(), ctes)


def _listed(names: Collection[str]) -> str:
    return ", ".join(sorted(names))
