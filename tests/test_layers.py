"""The import rule of ``agentlog/__init__.py``: each part imports only from the layers below it.

Every module under src/agentlog is parsed with ``ast``; each ``agentlog.X``
it imports (at the top or inside a function) is mapped to X's layer. Imports
under ``if TYPE_CHECKING:`` are annotations, not dependencies, and are
skipped. The package root (``import agentlog``, ``agentlog.__version__``) is
the public face and may be imported from anywhere.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import agentlog

SOURCE = Path(agentlog.__file__).parent

LAYERS: list[set[str]] = [
    {"errors"},  # domain errors, and their HTTP/gRPC/exit codes
    {"proto"},  # wire bytes -> span rows; pure
    {"store"},  # DuckDB: schema, inserts, roll-ups, retention, keys
    {"collector", "query", "exporter"},  # the write side, the read side, the agent side: never each other
    {"settings", "api", "discovery"},  # configuration (its defaults are the collector's), HTTP API, server file
    {"server", "client", "console", "demo"},  # `agentlog serve`; the CLI's backends and views; the demo agent
    {"commands"},  # the CLI's commands
    {"cli"},  # the `agentlog` command
    {"__main__"},  # `python -m agentlog`
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def part_of(module: str) -> str | None:
    """``agentlog.query.logs`` -> ``query``; the package root itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, module) of every ``agentlog`` import that runs, anywhere in ``tree``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (found for child in node.orelse for found in imported_modules(child))
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "agentlog":  # from agentlog import commands -> agentlog.commands
                yield from ((node.lineno, f"agentlog.{alias.name}") for alias in node.names)
            else:
                yield node.lineno, node.module
        yield from imported_modules(node)


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def violations() -> list[str]:
    found = []
    for module, path in modules():
        importer = part_of(module)
        if importer is None:
            continue  # the root re-exports the exporter lazily: the public face, not a layer
        assert importer in RANK, f"{module}: place {importer!r} in a layer of LAYERS (and docs/ARCHITECTURE.md)"
        for line, imported in imported_modules(ast.parse(path.read_text(), str(path))):
            target = part_of(imported) if imported.startswith("agentlog.") else None
            if target is None or target == importer or target.startswith("__"):
                continue  # outside agentlog, the root, itself, or a dunder of the root (__version__)
            if RANK[target] >= RANK[importer]:
                found.append(f"{path.relative_to(SOURCE.parent)}:{line}: {importer} imports {imported}")
    return found


def test_every_part_imports_only_from_the_layers_below_it() -> None:
    assert violations() == []


def test_the_check_sees_imports_in_functions_and_skips_type_checking_ones() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from agentlog.server import Running\n"
        "def f():\n    from agentlog.api import app\n"
        "from agentlog import commands\n"
    )
    assert [module for _, module in imported_modules(tree)] == ["typing", "agentlog.api", "agentlog.commands"]
