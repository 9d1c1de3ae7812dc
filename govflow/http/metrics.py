"""``/metrics``: Prometheus text format, public like ``/health``.

Scrapers carry no JWT, and the labels hold no ids (``group_path=True`` records route templates),
so the endpoint is public; restrict it at the network edge (reverse proxy) in production.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from litestar import Controller, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from govflow.http.errors import status_of
from govflow.http.policy import public

_ANSWER: ContextVar[dict[str, float] | None] = ContextVar("govflow_metrics_answer", default=None)


class RequestMetrics(PrometheusMiddleware):
    """Litestar's request metrics, with the status of an exception raised beneath them.

    Litestar's middleware reads the status from the answer it sees go out; an exception raised
    by a middleware beneath it (the bearer token's 401, an idempotency key's 422, an unexpected
    error's 500) is turned into an answer above it, so it would be recorded as a 200, and a
    500 would not count in ``govflow_requests_error_total``. Here such a request is recorded
    with the status :func:`~govflow.http.errors.handle` answers it with.
    """

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        below = self.app

        async def recording(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await below(scope, receive, send)
            except Exception as exc:
                answer = _ANSWER.get()
                if answer is not None and not answer.get("started"):
                    answer["status_code"] = status_of(exc)
                raise

        self.app = recording

    def _get_wrapped_send(self, send: Send, request_span: dict[str, float]) -> Callable[..., Any]:
        _ANSWER.set(request_span)
        wrapped = super()._get_wrapped_send(send, request_span)

        async def marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                request_span["started"] = 1
            await wrapped(message)

        return marking


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="govflow", prefix="govflow", group_path=True, middleware_class=RequestMetrics
    )


class MetricsController(Controller):
    tags = ["health"]

    @get("/metrics", operation_id="getMetrics", media_type=CONTENT_TYPE_LATEST, **public())
    async def metrics(self) -> Response[bytes]:
        """This process's metrics (every process's with ``PROMETHEUS_MULTIPROC_DIR``)."""
        registry = REGISTRY
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, status_code=200)
