"""configure()'s settings: arguments, then the standard OTel variables, then defaults."""

from __future__ import annotations

import pytest

from agentlog.exporter.settings import load_settings


def test_defaults_are_grpc_to_localhost_with_live_status() -> None:
    settings = load_settings(environ={})
    assert (settings.protocol, settings.endpoint, settings.headers) == ("grpc", "http://localhost:4317", None)
    assert (settings.pending_spans, settings.max_queue_size, settings.schedule_delay_ms) == (True, 2048, 1000.0)
    assert settings.service_name is None


def test_the_standard_variables_are_honoured_traces_first() -> None:
    environ = {
        "OTEL_SERVICE_NAME": "bug-triager",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-team=triage,x-env=prod",
        "OTEL_BSP_MAX_QUEUE_SIZE": "4096",
        "OTEL_BSP_SCHEDULE_DELAY": "250",
        "AGENTLOG_API_KEY": "al_123",
        "AGENTLOG_PENDING_SPANS": "false",
    }
    settings = load_settings(environ=environ)
    assert (settings.service_name, settings.protocol) == ("bug-triager", "http/protobuf")
    assert settings.endpoint == "http://collector:4318/v1/traces"
    assert dict(settings.headers or ()) == {"x-team": "triage", "x-env": "prod", "authorization": "Bearer al_123"}
    assert (settings.max_queue_size, settings.schedule_delay_ms, settings.pending_spans) == (4096, 250, False)
    per_signal = load_settings(environ={**environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/otlp/t"})
    assert per_signal.endpoint == "https://c.example/otlp/t"  # the traces variable is the full URL, used as is
    grpc = load_settings(environ={**environ, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"})
    assert (grpc.protocol, grpc.endpoint) == ("grpc", "http://collector:4318")


def test_arguments_win_over_the_environment() -> None:
    environ = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_SERVICE_NAME": "from-env"}
    settings = load_settings(service_name="from-code", endpoint="localhost:9999", pending_spans=True, environ=environ)
    assert (settings.service_name, settings.endpoint) == ("from-code", "http://localhost:9999")
    http = load_settings(protocol="http/protobuf", endpoint="https://agentlog.example.com/", environ=environ)
    assert http.endpoint == "https://agentlog.example.com/v1/traces"
    assert load_settings(protocol="http/protobuf", endpoint="http://h:1/v1/traces", environ={}).endpoint == (
        "http://h:1/v1/traces"
    )


@pytest.mark.parametrize(
    ("arguments", "environ", "mentions"),
    [
        ({"protocol": "http/json"}, {}, "protocol"),
        ({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "zipkin"}, "protocol"),
        ({"max_queue_size": 0}, {}, "max_queue_size"),
        ({"max_queue_size": 8, "max_export_batch_size": 16}, {}, "max_export_batch_size"),
        ({}, {"OTEL_BSP_MAX_QUEUE_SIZE": "lots"}, "OTEL_BSP_MAX_QUEUE_SIZE"),
        ({"schedule_delay_ms": -1}, {}, "schedule_delay_ms"),
    ],
)
def test_settings_that_cannot_work_are_refused_with_a_reason(
    arguments: dict[str, object], environ: dict[str, str], mentions: str
) -> None:
    with pytest.raises(ValueError, match=mentions):
        load_settings(environ=environ, **arguments)  # type: ignore[arg-type]
