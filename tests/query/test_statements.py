"""Statement templates are filled loudly: a placeholder missing or unknown is an error, never a silent no-op."""

from __future__ import annotations

import pytest

from agentlog.query.logs import NODES_SQL, PAGE_NODES_SQL, SKELETON_SQL
from agentlog.query.statements import fill


def test_every_placeholder_must_be_given_and_known() -> None:
    whole = {"document": ", document", "documents": "span_documents", "page": ""}
    assert "{" + "page}" not in fill("run_nodes.sql", whole)
    with pytest.raises(ValueError, match=r"run_nodes.sql: placeholders not given \['page'\], given but not in"):
        fill("run_nodes.sql", {"document": "", "documents": "span_documents"})
    with pytest.raises(ValueError, match=r"given but not in the statement \['pages'\]"):
        fill("run_nodes.sql", {**whole, "pages": ""})


def test_struct_literals_are_not_placeholders() -> None:
    filled = fill("run_nodes.sql", {"document": "", "documents": "{a: 1}", "page": ""})
    assert "FROM {a: 1}" in filled  # a fragment's braces are left as they are


def test_the_logs_statements_read_what_they_say() -> None:
    for markers, source in ((True, "node_documents"), (False, "span_documents")):
        assert f"FROM {source}" in SKELETON_SQL[markers] and ", document" not in SKELETON_SQL[markers]
        assert "events, document\n" in NODES_SQL["document"][markers]
        assert "events, outline\n" in NODES_SQL["outline"][markers]
        assert "string_split($ids" in PAGE_NODES_SQL["outline"][markers]
        assert "string_split($ids" not in NODES_SQL["outline"][markers]
