"""``/metrics``: Prometheus text format, public like ``/health``.

Scrapers carry no JWT, and the labels hold no ids (``group_path=True`` records route templates),
so the endpoint is public; restrict it at the network edge (reverse proxy) in production.
"""

from __future__ import annotations

import os

from litestar import Controller, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from govflow.http.policy import public


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(app_name="govflow", prefix="govflow", group_path=True)


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
