"""Embedded mode reads an organisation's conventions file as ``agentlog serve --conventions`` does."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry import trace

import agentlog
from agentlog.errors import ConventionsError

ACME = """
[columns]
user_id = "acme.customer_id"
agent_name = "acme.flow"

[node_types."acme.step"]
flow = "agent"
"""


def test_the_organisations_keys_fill_the_columns(tmp_path: Path) -> None:
    conventions = tmp_path / "acme.toml"
    conventions.write_text(ACME)
    pipeline = agentlog.configure(database=":memory:", conventions=conventions, environ={})
    tracer = trace.get_tracer("acme")
    with tracer.start_as_current_span("handle", attributes={"acme.step": "flow", "acme.flow": "refunds",
                                                            "acme.customer_id": "c-42"}):  # fmt: skip
        pass
    assert agentlog.flush()
    assert pipeline.database is not None
    rows = pipeline.database.cursor().execute("SELECT node_type, agent_name, user_id FROM stored_spans").fetchall()
    assert rows == [("agent", "refunds", "c-42")]


def test_the_environment_names_the_file_and_a_bad_one_stops_configure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[columns]\nuser = 'acme.customer_id'\n")
    with pytest.raises(ConventionsError, match=r"bad.toml: \[columns\] user: not a column agentlog fills"):
        agentlog.configure(database=":memory:", environ={"AGENTLOG_CONVENTIONS": str(bad)})


def test_a_collector_reads_its_own(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="conventions apply in embedded mode"):
        agentlog.configure(endpoint="localhost:1", conventions=tmp_path / "acme.toml", environ={})
