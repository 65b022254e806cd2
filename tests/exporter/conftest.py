"""Fixtures for the exporter's tests: a pipeline per test, torn down after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import agentlog
from tests.exporter.agents import FAST_EXPORT_MS


@pytest.fixture(autouse=True)
def no_pipeline_left_behind() -> Iterator[None]:
    """Each test configures its own pipeline; none outlives its test."""
    yield
    pipeline = agentlog.current_pipeline()
    if pipeline is not None:
        pipeline.shutdown()


@pytest.fixture
def embedded() -> Iterator[agentlog.Pipeline]:
    """Embedded mode on an in-memory database, exporting every few milliseconds."""
    pipeline = agentlog.configure(database=":memory:", schedule_delay_ms=FAST_EXPORT_MS, environ={})
    yield pipeline
    pipeline.shutdown()
