"""Ending a pipeline: ``agentlog.flush()``, ``agentlog.shutdown()``, and the global provider's own flush and shutdown."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentlog
from tests.exporter.agents import closed_port

NEVER_ON_ITS_OWN_MS = 600_000
"""An export interval no test waits out: whatever is exported, a flush or a shutdown sent."""


def held_back() -> tuple[agentlog.Pipeline, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    pipeline = agentlog.configure(
        exporter=exporter, pending_spans=False, schedule_delay_ms=NEVER_ON_ITS_OWN_MS, environ={}
    )
    return pipeline, exporter


def names(exporter: InMemorySpanExporter) -> list[str]:
    return sorted(span.name for span in exporter.get_finished_spans())


def test_flush_sends_what_is_recorded_and_shutdown_stops_the_pipeline() -> None:
    _, exporter = held_back()
    with agentlog.run("flushed") as run, run.node("step"):
        pass
    assert names(exporter) == []
    assert agentlog.flush(timeout_s=10) is True
    assert names(exporter) == ["invoke_agent flushed", "step"]

    with agentlog.run("at-shutdown"):
        pass
    agentlog.shutdown(timeout_s=10)
    assert names(exporter) == ["invoke_agent at-shutdown", "invoke_agent flushed", "step"]
    assert agentlog.current_pipeline() is None
    with agentlog.run("after"):
        pass  # no pipeline: a no-op, nothing raises
    assert agentlog.flush(timeout_s=1) is True  # nothing to send
    agentlog.shutdown()  # again: nothing to do
    assert len(names(exporter)) == 3


def test_the_global_provider_flushes_and_shuts_down_as_the_sdks_does() -> None:
    _, exporter = held_back()
    provider: Any = trace.get_tracer_provider()  # what code written for the SDK calls at exit
    instrumentation = trace.get_tracer("some.instrumentation")
    with agentlog.run("flushed"), instrumentation.start_as_current_span("chat gpt-4o"):
        pass
    assert provider.force_flush(timeout_millis=10_000) is True
    assert names(exporter) == ["chat gpt-4o", "invoke_agent flushed"]

    with agentlog.run("at-shutdown"):
        pass
    provider.shutdown()
    assert names(exporter) == ["chat gpt-4o", "invoke_agent at-shutdown", "invoke_agent flushed"]
    assert agentlog.current_pipeline() is None
    with instrumentation.start_as_current_span("after"):
        pass
    assert provider.force_flush() is True
    provider.shutdown()  # again: nothing to do
    assert len(names(exporter)) == 3


def test_shutdown_with_the_collector_down_takes_no_longer_than_its_timeout() -> None:
    agentlog.configure(endpoint=f"127.0.0.1:{closed_port()}", schedule_delay_ms=NEVER_ON_ITS_OWN_MS, environ={})
    with agentlog.run("unheard"):
        pass
    assert agentlog.flush(timeout_s=0.2) is False  # not sent: the exporter is still retrying
    started = time.perf_counter()
    agentlog.shutdown(timeout_s=0.5)
    assert time.perf_counter() - started < 2.0
    assert agentlog.current_pipeline() is None


@pytest.mark.parametrize("timeout_s", [0, -1])
def test_shutdown_with_no_time_given_waits_for_nothing(timeout_s: float, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    port = closed_port()
    agentlog.configure(endpoint=f"127.0.0.1:{port}", shutdown_timeout_s=3, environ={})
    with agentlog.run("unheard"):
        pass
    started = time.perf_counter()
    agentlog.shutdown(timeout_s=timeout_s)
    assert time.perf_counter() - started < 1.0  # not the configured 3 s
    said = [r.getMessage() for r in caplog.records if "could not deliver" in r.getMessage()]
    assert said == [
        f"agentlog: could not deliver 1 spans to 127.0.0.1:{port} within 0 s: the collector did not take them in time"
    ]
