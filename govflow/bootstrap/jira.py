"""Jira as the API and the CLI see it: the connection test and the circuit breaker's state.

Both ask the ``jira`` plugin's resources (what its ``govflow_startup`` built); GovFlow's edges
know the plugin only by name, so an installation without it reports Jira disabled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from govflow.adapters.security.rate_limit import RedisRateCounter
from govflow.bootstrap.api import redis_prefix
from govflow.bootstrap.graph import Container
from govflow.plugins.manager import PluginManager
from govflow.usecases.rate_limits import RateLimit

PLUGIN = "jira"
CHECKS_PER_MINUTE = 6
"""Connection tests one user may run per minute (each one calls Jira)."""


class JiraAccount(msgspec.Struct, frozen=True, kw_only=True):
    """The account the API token authenticates."""

    account_id: str
    display_name: str
    email: str | None = None


class JiraConnection(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a connection test; never holds the token.

    :ivar status: ``ok``, ``disabled``, ``unauthorized``, ``unreachable`` or ``error``.
    :ivar enabled: ``JIRA_ENABLED``.
    :ivar configured: enabled, with a site, an account and a token.
    :ivar base_url: the site (without user information).
    :ivar account: who the token authenticates (``ok`` only).
    :ivar http_status: Jira's answer, when there was one.
    :ivar circuit: the circuit breaker: ``closed``, ``open`` or ``half_open`` (``None`` when
        Jira is disabled).
    :ivar detail: why, for anything but ``ok``.
    """

    status: str
    enabled: bool
    configured: bool
    base_url: str | None = None
    account: JiraAccount | None = None
    http_status: int | None = None
    circuit: str | None = None
    detail: str | None = None


def _not_loaded(plugins: PluginManager) -> JiraConnection:
    broken = plugins.broken().get(PLUGIN)
    detail = (
        f"the {PLUGIN} plugin is broken: {broken.reason}"
        if broken is not None
        else f"the {PLUGIN} plugin is not installed"
    )
    return JiraConnection(status="disabled", enabled=False, configured=False, detail=detail)


async def check_connection(plugins: PluginManager) -> JiraConnection:
    """Run the ``jira`` plugin's connection test in this process."""
    check = getattr(plugins.resources(PLUGIN), "check_connection", None)
    if check is None:
        return _not_loaded(plugins)
    report: Mapping[str, Any] = await check()
    return msgspec.convert(report, JiraConnection)


async def circuit_state(plugins: PluginManager) -> str | None:
    """The Jira circuit breaker's state, shared by every worker (``None``: Jira disabled)."""
    client = getattr(plugins.resources(PLUGIN), "client", None)
    if client is None:
        return None
    return str(await client.guard.state())


async def connection_check_allowed(services: Container, subject: str) -> int | None:
    """Count one connection test of ``subject``; the seconds to wait when over the limit."""
    counter = RedisRateCounter(services.redis, prefix=redis_prefix(services.settings.queue_name))
    verdict = await counter.hit(
        [
            RateLimit(
                name="jira_check", subject=subject, ceiling=CHECKS_PER_MINUTE, window_seconds=60
            )
        ]
    )
    if verdict.allowed:
        return None
    return verdict.usages[0].reset_seconds if verdict.usages else 60
