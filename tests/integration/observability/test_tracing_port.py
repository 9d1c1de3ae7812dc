"""The tracing port and its OpenTelemetry adapter: parents and links from W3C carriers, ids for
the logs, export over OTLP/HTTP to a real receiver, and no tracing without the extra."""

from __future__ import annotations

import logging
import sys
from collections.abc import Awaitable, Callable

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from govflow.adapters.logs import add_trace_ids
from govflow.adapters.tracing import OtelTracing
from govflow.bootstrap.tracing import start_tracing
from govflow.settings import Settings
from govflow.usecases.tracing import NoTracing, SpanKind, trace_ids, tracing
from tests.support.engine import eventually
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
EARLIER = "00-11111111111111111111111111111111-2222222222222222-01"


@pytest.fixture
def recorded() -> tuple[OtelTracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelTracing(provider), exporter


def test_a_span_continues_a_carrier_and_links_another(
    recorded: tuple[OtelTracing, InMemorySpanExporter],
) -> None:
    traced, exporter = recorded
    with traced.span(
        "work",
        kind=SpanKind.CONSUMER,
        attributes={"govflow.attempt": 2},
        parent={"traceparent": PARENT},
        links=[{"traceparent": EARLIER}, {"traceparent": "garbage"}],
    ) as span:
        span.set_error("BUSINESS_ERROR: refused")
        ids = traced.ids()
        carrier = traced.carrier()
    [done] = exporter.get_finished_spans()
    assert format(done.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert done.parent is not None
    assert format(done.parent.span_id, "016x") == "b7ad6b7169203331"
    assert [format(link.context.trace_id, "032x") for link in done.links] == ["1" * 32]
    assert done.attributes == {"govflow.attempt": 2}
    assert done.status.description == "BUSINESS_ERROR: refused"
    assert ids == ("0af7651916cd43dd8448eb211c80319c", format(done.context.span_id, "016x"))
    assert carrier["traceparent"] == f"00-{ids[0]}-{ids[1]}-01"
    assert traced.ids() is None  # outside any span


def test_no_tracing_records_nothing_and_names_no_ids() -> None:
    off = NoTracing()
    with off.span("work", parent={"traceparent": PARENT}) as span:
        span.set_attribute("a", 1)
        assert off.ids() is None
        assert off.carrier() == {}
    assert tracing().enabled is False
    assert trace_ids() is None


def test_without_the_extra_one_warning_and_no_tracing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "govflow.adapters.tracing", None)  # import fails
    settings = Settings(_env_file=None, otel_exporter_otlp_endpoint="http://127.0.0.1:9")
    with caplog.at_level(logging.WARNING, logger="govflow.tracing"):
        stop = start_tracing(settings, "govflow-test")
    stop()
    assert tracing().enabled is False
    assert "pip install 'govflow[otel]'" in caplog.text


def test_without_an_endpoint_nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    start_tracing(Settings(_env_file=None), "govflow-test")()
    assert tracing().enabled is False
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    settings = Settings(_env_file=None, otel_exporter_otlp_endpoint="http://127.0.0.1:9")
    start_tracing(settings, "govflow-test")()
    assert tracing().enabled is False


async def test_spans_reach_a_receiver_with_the_http_calls_and_the_log_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    with OtlpReceiver() as receiver:
        # The endpoint only in the settings (as from .env): the exporter is told it.
        settings = Settings(_env_file=None, otel_exporter_otlp_endpoint=receiver.endpoint)
        stop = start_tracing(settings, "govflow-test")
        try:
            assert tracing().enabled
            with tracing().span("outer") as span:
                span.set_attribute("govflow.step_key", "first")
                event = add_trace_ids(None, "info", {"event": "x"})
                async with httpx.AsyncClient() as client:
                    assert (await client.get(f"{receiver.endpoint}/ping")).text == "pong"
        finally:
            stop()  # flushes
        assert tracing().enabled is False
        spans = await eventually(_received(receiver), lambda found: len(found) == 2)
    by_name = {s.name: s for s in spans}
    outer, call = by_name["outer"], by_name["GET"]
    assert outer.service == "govflow-test"
    assert call.parent_span_id == outer.span_id
    assert call.trace_id == outer.trace_id
    assert (event["trace_id"], event["span_id"]) == (outer.trace_id, outer.span_id)


def _received(receiver: OtlpReceiver) -> Callable[[], Awaitable[list[ReceivedSpan]]]:
    async def probe() -> list[ReceivedSpan]:
        return receiver.spans()

    return probe
