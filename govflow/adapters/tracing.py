"""Tracing with OpenTelemetry (the ``otel`` extra): the :class:`~govflow.usecases.tracing`
port's implementation, the SDK set up to export over OTLP/HTTP, and httpx instrumented.

Only imported when tracing is on: without the extra, importing this module fails and the process
runs without tracing. The standard ``OTEL_*`` variables apply as the SDK reads them
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_*``,
``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_PROPAGATORS``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence

from opentelemetry import propagate, trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode

from govflow.usecases.tracing import AttributeValue, Carrier, NoTracing, Span, SpanKind, install

_KINDS = {
    SpanKind.INTERNAL: trace.SpanKind.INTERNAL,
    SpanKind.SERVER: trace.SpanKind.SERVER,
    SpanKind.CLIENT: trace.SpanKind.CLIENT,
    SpanKind.PRODUCER: trace.SpanKind.PRODUCER,
    SpanKind.CONSUMER: trace.SpanKind.CONSUMER,
}


class _OtelSpan:
    __slots__ = ("_span",)

    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    def set_error(self, description: str) -> None:
        self._span.set_status(Status(StatusCode.ERROR, description))

    def update_name(self, name: str) -> None:
        self._span.update_name(name)


class OtelTracing(NoTracing):
    """Spans recorded by an OpenTelemetry tracer; contexts carried as the configured
    propagators write them (W3C ``traceparent`` by default)."""

    enabled = True

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer("govflow")

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AttributeValue] | None = None,
        parent: Carrier | None = None,
        links: Sequence[Carrier] = (),
    ) -> Iterator[Span]:
        context = propagate.extract(parent) if parent else None
        with self._tracer.start_as_current_span(
            name,
            context=context,
            kind=_KINDS[kind],
            attributes=dict(attributes) if attributes else None,
            links=_links(links),
        ) as span:
            yield _OtelSpan(span)

    def current(self) -> Span:
        return _OtelSpan(trace.get_current_span())

    def carrier(self) -> dict[str, str]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier

    def ids(self) -> tuple[str, str] | None:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _links(carriers: Sequence[Carrier]) -> list[Link]:
    links = []
    for carrier in carriers:
        context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
        if context.is_valid:
            links.append(Link(context))
    return links


def start_otel(service: str, endpoint: str | None = None) -> Callable[[], None]:
    """Set this process's tracer provider up, exporting over OTLP/HTTP, instrument httpx and
    install the port's implementation; the function that flushes and stops it all.

    :param service: ``service.name`` unless ``OTEL_SERVICE_NAME`` names one.
    :param endpoint: the collector's base URL when the process's environment does not name one
        (it came from ``.env``); ``/v1/traces`` is appended, as the SDK does.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(named))
    from_env = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    exporter = (
        OTLPSpanExporter()
        if from_env or not endpoint
        else OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    install(OtelTracing(provider))

    def stop() -> None:
        install(NoTracing())
        instrumentor.uninstrument()
        provider.shutdown()

    return stop
