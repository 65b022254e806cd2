"""docs/conventions.md is what agentlog.proto.conventions_doc writes, and names every key the normaliser reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from agentlog.proto import conventions as c
from agentlog.proto.canonical import keys_read
from agentlog.proto.conventions import BUILT_IN
from agentlog.proto.conventions_doc import render
from agentlog.proto.conventions_file import extend

DOC = Path(__file__).resolve().parents[2] / "docs" / "conventions.md"


def test_the_document_in_the_repository_is_current() -> None:
    assert DOC.read_text() == render(), "run: python -m agentlog.proto.conventions_doc > docs/conventions.md"


def test_every_key_the_normaliser_reads_is_documented() -> None:
    text = render()
    missing = [key for key in keys_read() if f"`{key}`" not in text]
    assert not missing, f"keys read but not in docs/conventions.md: {missing}"


def test_every_node_type_value_is_documented() -> None:
    text = render()
    for key, table in c.NODE_TYPE_KEYS:
        assert f"### `{key}`" in text
        assert all(f"| `{value}` | {kind} |" in text for value, kind in table.items())


def test_the_documented_example_file_applies() -> None:
    text = DOC.read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    conventions = extend(BUILT_IN, tomllib.loads(example), "example")
    assert conventions.user_id[:2] == ("acme.customer_id", "acme.account")
    assert conventions.node_type_keys[0][0] == "acme.step_kind"
