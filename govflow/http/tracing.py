"""Tracing at the HTTP edge: a server span per request (Litestar's OpenTelemetry middleware,
around everything, the access log included, so its line carries the trace ids), named by the
route once it is known, and the ``traceparent`` of that span on every answer.

Probes and the scrape (``/health``, ``/livez``, ``/readyz``, ``/metrics``) are not traced. With
tracing off (the default) nothing here runs.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Scope

from govflow.usecases.tracing import tracing

UNTRACED = ["^/health", "^/livez$", "^/readyz$", "^/metrics"]


def _span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The span's name before the route is known: the method alone (a path may hold ids)."""
    return str(scope.get("method", "HTTP")), {}


def traced_requests(handler: ASGIApp) -> ASGIApp:
    """``handler`` inside a server span per request when tracing is on; else ``handler``."""
    if not tracing().enabled:
        return handler
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

    config = OpenTelemetryConfig(
        exclude=UNTRACED,
        exclude_spans=["receive", "send"],
        scope_span_details_extractor=_span_details,
    )
    return config.middleware_class(app=handler, config=config)


def traceparent_header() -> Any:
    """A ``before_send`` hook: the request span's ``traceparent`` on the answer, and the span
    named ``METHOD /route/{template}``."""

    async def before_send(message: Message, scope: Scope) -> None:
        traced = tracing()
        if message["type"] != "http.response.start" or not traced.enabled:
            return
        template = scope.get("path_template")
        if template:
            span = traced.current()
            span.update_name(f"{scope.get('method', 'HTTP')} {template}")
            span.set_attribute("http.route", str(template))
        carrier = traced.carrier()
        if "traceparent" in carrier:
            MutableScopeHeaders.from_message(message)["traceparent"] = carrier["traceparent"]

    return before_send
