"""The embedded exporter folds the run roll-ups' partials every N exports and at shutdown."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from agentlog.exporter.embedded import DuckDBSpanExporter
from agentlog.store import Database


def test_the_embedded_exporter_compacts_every_n_exports_and_at_shutdown(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "embedded.duckdb")
    exporter = DuckDBSpanExporter(database, owns_database=False, compact_every=3)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # one export per span
    tracer = provider.get_tracer("tests")
    cursor = database.cursor()

    def partials() -> int:
        return int(cursor.execute("SELECT count(*) FROM run_partials").fetchone()[0])

    with tracer.start_as_current_span("invoke_agent planner"):
        for step in range(3):
            with tracer.start_as_current_span(f"step {step}"):
                pass
        assert partials() == 0  # the third export compacted
    assert partials() == 1
    provider.shutdown()
    assert partials() == 0
    assert cursor.execute("SELECT count(*), sum(span_count), sum(node_count) FROM run_compacted").fetchone() == (
        1,
        4,
        3,
    )
    database.close()
