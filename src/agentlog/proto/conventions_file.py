"""An organisation's own attribute keys, from a TOML file: ``agentlog serve --conventions FILE``.

::

    # Keys read before the built-in ones of the same column, in the order given.
    [columns]
    user_id = ["acme.customer_id"]
    agent_name = ["acme.flow"]
    session_id = "acme.conversation"          # one key may be given as a string
    input_tokens = ["acme.usage.prompt"]

    # A key whose string value names the node type, read before the built-in ones;
    # values match as written, in upper case or in lower case.
    [node_types."acme.step_kind"]
    model_call = "llm"
    tool_call = "tool"

The columns are ``COLUMN_KINDS``' (``docs/conventions.md`` lists them with
the built-in keys); node types are ``NODE_TYPES``. A file that cannot apply
(bad TOML, an unknown table, column or node type, a key that is not a
non-empty string, a key given to two columns) raises ``ConventionsError``
naming the file and the entry, and nothing is applied.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentlog.errors import ConventionsError
from agentlog.proto.conventions import BUILT_IN, COLUMN_KINDS, NODE_TYPES, Conventions

_TABLES = ("columns", "node_types")
_RESERVED_PREFIX = "agentlog."  # agentlog's own keys (live-status markers, lent event messages)


def load_conventions(path: str | Path) -> Conventions:
    """The built-in conventions with the organisation's keys of the TOML file at ``path`` first."""
    try:
        with open(path, "rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConventionsError(f"conventions file {path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConventionsError(f"conventions file {path}: not TOML: {error}") from None
    return extend(BUILT_IN, document, str(path))


def extend(base: Conventions, document: Mapping[str, Any], source: str) -> Conventions:
    """``base`` with ``document``'s keys first (the parsed TOML file; ``source`` names it in errors)."""
    where = f"conventions file {source}"
    unknown = sorted(set(document) - set(_TABLES))
    if unknown:
        raise ConventionsError(f"{where}: unknown table [{unknown[0]}]; it has [columns] and [node_types]")
    columns = _columns(document.get("columns", {}), where)
    node_types = _node_types(document.get("node_types", {}), where)
    _check_distinct(columns, node_types, where)
    extended = {name: _first(keys, getattr(base, name)) for name, keys in columns.items()}
    kind_keys = tuple((key, table) for key, table in node_types.items())
    kept = tuple((key, table) for key, table in base.node_type_keys if key not in node_types)
    return replace(base, **extended, node_type_keys=kind_keys + kept, source=source)


def _columns(table: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(table, Mapping):
        raise ConventionsError(f"{source}: [columns] must be a table of column = [keys]")
    columns: dict[str, tuple[str, ...]] = {}
    for column, keys in table.items():
        if column not in COLUMN_KINDS:
            known = ", ".join(COLUMN_KINDS)
            raise ConventionsError(f"{source}: [columns] {column}: not a column agentlog fills; known: {known}")
        columns[column] = _keys(keys, f"{source}: [columns] {column}")
    return columns


def _keys(value: Any, where: str) -> tuple[str, ...]:
    keys = [value] if isinstance(value, str) else value
    if not isinstance(keys, list) or not keys:
        raise ConventionsError(f"{where}: give a key or a list of keys, got {value!r}")
    for key in keys:
        _check_key(key, where)
    return tuple(dict.fromkeys(keys))


def _check_key(key: Any, where: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ConventionsError(f"{where}: a key must be a non-empty string, got {key!r}")
    if key.startswith(_RESERVED_PREFIX):
        raise ConventionsError(f"{where}: {key!r}: keys starting with {_RESERVED_PREFIX!r} are agentlog's own")


def _node_types(table: Any, source: str) -> dict[str, dict[str, str]]:
    if not isinstance(table, Mapping):
        raise ConventionsError(f'{source}: [node_types] must hold tables such as [node_types."acme.kind"]')
    found: dict[str, dict[str, str]] = {}
    for key, values in table.items():
        where = f'{source}: [node_types."{key}"]'
        _check_key(key, where)
        if not isinstance(values, Mapping) or not values:
            raise ConventionsError(f'{where}: must map the key\'s values to node types, e.g. model_call = "llm"')
        for value, node_type in values.items():
            if node_type not in NODE_TYPES:
                raise ConventionsError(
                    f"{where} {value}: {node_type!r} is not a node type; known: {', '.join(NODE_TYPES)}"
                )
        found[key] = dict(values)
    return found


def _check_distinct(columns: Mapping[str, Sequence[str]], node_types: Mapping[str, object], source: str) -> None:
    """A key fills one column: given to two, which one it means is a guess."""
    seen: dict[str, str] = {}
    named = [(key, f"[columns] {column}") for column, keys in columns.items() for key in keys]
    for key, entry in named + [(key, f'[node_types."{key}"]') for key in node_types]:
        if key in seen:
            raise ConventionsError(f"{source}: {key!r} is given to {seen[key]} and to {entry}; give it to one")
        seen[key] = entry


def _first(keys: tuple[str, ...], built_in: tuple[str, ...]) -> tuple[str, ...]:
    """The organisation's keys, then the built-in ones they do not repeat."""
    return keys + tuple(key for key in built_in if key not in keys)
