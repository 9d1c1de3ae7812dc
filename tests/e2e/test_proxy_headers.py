"""The client address through the real server: ``govflow api`` (uvicorn) trusts
``X-Forwarded-For`` only from ``TRUSTED_PROXIES``, not from loopback by default."""

from __future__ import annotations

import httpx
import pytest

from govflow.settings import Settings
from tests.support.api_server import ApiServer, audit_rows

pytestmark = pytest.mark.e2e


async def _guesses(url: str, count: int) -> list[int]:
    """``count`` failed logins, each with another spoofed address and account."""
    statuses = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for i in range(count):
            response = await client.post(
                "/auth/login",
                json={"email": f"guess{i}@example.org", "password": "Wrong-guess-123"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


async def test_forwarded_for_from_loopback_is_ignored_without_trusted_proxies(
    settings: Settings,
) -> None:
    async with ApiServer(settings, TRUSTED_PROXIES="", LOGIN_MAX_ATTEMPTS="5") as server:
        statuses = await _guesses(server.url, 12)
    assert statuses == [401] * 5 + [429] * 7
    failed = await audit_rows(str(settings.database_url), "LOGIN_FAILED")
    assert {row["ip"] for row in failed} == {"127.0.0.1"}
    throttled = await audit_rows(str(settings.database_url), "LOGIN_THROTTLED")
    assert [(row["ip"], row["limit"]) for row in throttled] == [("127.0.0.1", "address")]


async def test_forwarded_for_is_used_behind_a_trusted_proxy(settings: Settings) -> None:
    async with ApiServer(settings, TRUSTED_PROXIES="127.0.0.1", LOGIN_MAX_ATTEMPTS="5") as server:
        statuses = await _guesses(server.url, 12)
    assert statuses == [401] * 12
    failed = await audit_rows(str(settings.database_url), "LOGIN_FAILED")
    assert [row["ip"] for row in failed] == [f"203.0.113.{i + 1}" for i in range(12)]
