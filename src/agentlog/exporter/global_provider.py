"""The global tracer provider agentlog installs: it follows whichever ``configure()`` came last.

OpenTelemetry lets a process set its global ``TracerProvider`` once. Other
instrumentations (pydantic-ai, OpenInference, the OpenAI instrumentation)
take their tracers from it, often once at import. agentlog installs this
forwarding provider the first time ``configure()`` runs, and each
``configure()`` points it at a new SDK ``TracerProvider``: tracers handed out
before keep working and follow the new configuration, so their spans land in
the same runs as agentlog's and nest under them.

Like the SDK's provider, it has ``force_flush()`` and ``shutdown()``, so code
written for the SDK (``trace.get_tracer_provider().shutdown()`` at exit)
flushes and shuts down agentlog's pipeline.

If the application set another global provider first, agentlog leaves it be
(it cannot replace it) and says so once; agentlog's own spans still go
through agentlog's pipeline, and other instrumentations keep exporting
wherever that provider sends them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.util import types
from opentelemetry.util._decorator import _agnosticcontextmanager

log = logging.getLogger(__name__)


class Target(Protocol):
    """What the global provider forwards to: a pipeline and its SDK provider."""

    @property
    def provider(self) -> TracerProvider: ...

    def force_flush(self, timeout_s: float) -> bool: ...

    def shutdown(self, timeout_s: float | None = None) -> None: ...


class ForwardingTracerProvider(trace.TracerProvider):
    """A ``TracerProvider`` whose tracers use the current SDK provider (no-op when there is none)."""

    def __init__(self) -> None:
        self.current: TracerProvider | None = None
        self.target: Target | None = None

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> Tracer:
        return ForwardingTracer(self, instrumenting_module_name, instrumenting_library_version, schema_url, attributes)

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        """For libraries that add their own processor to the global provider; it lasts until the next configure()."""
        if self.current is not None:
            self.current.add_span_processor(span_processor)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export what agentlog's pipeline holds, as the SDK's provider does; True if done in time (or none)."""
        target = self.target
        return target.force_flush(timeout_millis / 1000) if target is not None else True

    def shutdown(self) -> None:
        """Flush and shut down agentlog's pipeline (within its ``shutdown_timeout_s``), as the SDK's provider does.

        Spans started afterwards are no-ops until ``agentlog.configure()`` runs again.
        """
        target = self.target
        if target is not None:
            target.shutdown()


class ForwardingTracer(Tracer):
    """Resolves to the current SDK provider's tracer of the same scope, re-resolving after configure()."""

    def __init__(
        self,
        owner: ForwardingTracerProvider,
        name: str,
        version: str | None,
        schema_url: str | None,
        attributes: types.Attributes,
    ) -> None:
        self._owner = owner
        self._scope = (name, version, schema_url, attributes)
        self._for: TracerProvider | None = None
        self._tracer: Tracer = trace.NoOpTracer()

    def _delegate(self) -> Tracer:
        provider = self._owner.current
        if provider is not self._for:
            name, version, schema_url, attributes = self._scope
            self._tracer = (
                provider.get_tracer(name, version, schema_url, attributes) if provider else trace.NoOpTracer()
            )
            self._for = provider
        return self._tracer

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self._delegate().start_span(
            name, context, kind, attributes, links, start_time, record_exception, set_status_on_exception
        )

    @_agnosticcontextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        with self._delegate().start_as_current_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        ) as span:
            yield span


_installed: ForwardingTracerProvider | None = None
_foreign_provider_noted = False
_install_lock = threading.Lock()


def point_global_provider_at(target: Target | None) -> bool:
    """Make the global provider forward to ``target``; False if another global provider was set first."""
    global _installed, _foreign_provider_noted  # noqa: PLW0603 - the global provider is process-wide state
    with _install_lock:
        if _installed is None:
            if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
                if target is not None and not _foreign_provider_noted:
                    _foreign_provider_noted = True
                    log.warning(
                        "agentlog: a global OpenTelemetry TracerProvider was set before agentlog.configure(); "
                        "spans of other instrumentations keep going where it sends them"
                    )
                return False
            _installed = ForwardingTracerProvider()
            trace.set_tracer_provider(_installed)
        _installed.current = target.provider if target is not None else None
        _installed.target = target
        return True
