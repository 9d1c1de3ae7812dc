"""Tracing for a process: on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set and the ``otel`` extra is installed."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable

from govflow.settings import Settings
from govflow.usecases.tracing import tracing

log = logging.getLogger("govflow.tracing")


def _nothing() -> None:
    return None


def tracing_wanted(settings: Settings) -> bool:
    """Whether this process should trace (an endpoint, and ``OTEL_SDK_DISABLED`` not true)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        settings.otel_exporter_otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def start_tracing(settings: Settings, service: str) -> Callable[[], None]:
    """Start tracing when it is wanted; the function that flushes the spans and stops it
    (call it as the process ends). Without the ``otel`` extra, one warning and no tracing."""
    if tracing().enabled or not tracing_wanted(settings):
        return _nothing
    try:
        from govflow.adapters.tracing import start_otel
    except ImportError as exc:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is not installed (%s): "
            "pip install 'govflow[otel]'",
            exc,
        )
        return _nothing
    stop = start_otel(service, settings.otel_exporter_otlp_endpoint)
    log.info("tracing on: spans exported over OTLP/HTTP as %s", service)
    return stop


@contextlib.asynccontextmanager
async def traced_process(settings: Settings, service: str) -> AsyncIterator[None]:
    """Tracing (when wanted) while the block runs; the spans are flushed as it ends."""
    stop = start_tracing(settings, service)
    try:
        yield
    finally:
        stop()
