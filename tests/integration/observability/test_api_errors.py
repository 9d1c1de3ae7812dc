"""``govflow_requests_error_total`` on a real ``govflow api``: it moves by exactly the number of
5xx answers, under their method, route template, status and app name, and not for 4xx answers
(those are in ``govflow_requests_total`` only).

The 5xx are real: the API's Redis is stopped, so ``/readyz`` and ``/health`` answer 503.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from govflow.settings import Settings
from tests.e2e.test_faults import VolatileRedis
from tests.integration.observability.test_metrics_processes import Scrape, scrape
from tests.support.api_server import ApiServer

pytestmark = pytest.mark.e2e

MISSING = "/workflow-executions/0190c4f0-0000-7000-8000-000000000000"
LABELS = {"app_name": "govflow"}


@pytest.fixture
def own_redis() -> Iterator[VolatileRedis]:
    redis = VolatileRedis(Path(tempfile.mkdtemp(prefix="gfe-", dir="/tmp")))
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


def errors(metrics: Scrape) -> dict[frozenset[tuple[str, str]], float]:
    return {
        labels: value
        for (name, labels), value in metrics.samples.items()
        if name == "govflow_requests_error_total"
    }


async def test_the_error_counter_counts_each_5xx_and_no_4xx(
    settings: Settings, own_redis: VolatileRedis
) -> None:
    async with (
        ApiServer(settings, REDIS_URL=own_redis.url) as api,
        httpx.AsyncClient(base_url=api.url, timeout=10.0) as client,
    ):
        before = await scrape(f"{api.url}/metrics")
        # 4xx: no token, a malformed login, an unknown user's login.
        assert (await client.get(MISSING)).status_code == 401
        assert (await client.post("/auth/login", json={"email": 1})).status_code == 400
        bad_login = {"email": "nobody@example.org", "password": "not the password at all"}
        assert (await client.post("/auth/login", json=bad_login)).status_code == 401
        assert (await client.get("/readyz")).status_code == 200
        own_redis.kill()
        # 5xx: Redis is gone.
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/health")).status_code == 503
        after = await scrape(f"{api.url}/metrics")

    def moved(name: str, **labels: str) -> float:
        return after(name, **labels) - before(name, **labels)

    readyz = {"method": "GET", "path": "/readyz", **LABELS}
    health = {"method": "GET", "path": "/health", **LABELS}
    assert moved("govflow_requests_error_total", status_code="503", **readyz) == 2
    assert moved("govflow_requests_error_total", status_code="503", **health) == 1
    grown = {
        labels: value - errors(before).get(labels, 0)
        for labels, value in errors(after).items()
        if value != errors(before).get(labels, 0)
    }
    assert sum(grown.values()) == 3, grown  # the three 5xx, nothing else
    assert all(dict(labels)["status_code"].startswith("5") for labels in grown), grown
    # The 4xx and the 200 are requests, not errors.
    assert moved("govflow_requests_total", status_code="200", **readyz) == 1
    assert moved("govflow_requests_total", status_code="503", **readyz) == 2
    login = {"method": "POST", "path": "/auth/login", **LABELS}
    assert moved("govflow_requests_total", status_code="400", **login) == 1
    assert moved("govflow_requests_total", status_code="401", **login) == 1
    read = {"method": "GET", "path": "/workflow-executions/{execution_id}", **LABELS}
    # Refused by the bearer middleware, beneath the metrics: recorded with the 401 it answers.
    assert moved("govflow_requests_total", status_code="401", **read) == 1
    assert moved("govflow_requests_total", status_code="200", **read) == 0
