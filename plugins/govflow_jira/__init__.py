"""The ``jira_comment`` and ``jira_transition`` actions, for Jira Cloud (REST API v3).

Both are ``remote_lookup``: the step's idempotency key travels in the same request as the
effect, and ``lookup`` asks Jira whether the effect carrying it exists.

Settings (:class:`~govflow_jira.config.JiraSettings`): ``GOVFLOW_JIRA_<NAME>`` or the historic
``JIRA_ENABLED``, ``JIRA_BASE_URL``, ``JIRA_EMAIL``, ``JIRA_API_TOKEN`` (secret),
``JIRA_TIMEOUT_SECONDS``, ``JIRA_RATE_LIMIT_WINDOW_MS``, ``JIRA_RATE_LIMIT_MAX``. Disabled
unless ``JIRA_ENABLED`` is true; then the client is built when the process starts, with the rate
cap and the circuit breaker in the process's Redis. See docs/jira.md.
"""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from govflow.plugins import ActionRegistry, hookimpl
from govflow.plugins.host import PluginHost
from govflow_jira.actions import (
    JiraCommentAction,
    JiraCommentInputs,
    JiraTransitionAction,
    JiraTransitionInputs,
)
from govflow_jira.client import JiraClient
from govflow_jira.config import JiraSettings
from govflow_jira.guard import Guard, RedisGuard
from govflow_jira.port import JiraResources

__all__ = [
    "JiraClient",
    "JiraCommentAction",
    "JiraCommentInputs",
    "JiraResources",
    "JiraSettings",
    "JiraTransitionAction",
    "JiraTransitionInputs",
    "build_resources",
]


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    """Register ``jira_comment`` and ``jira_transition``."""
    register.add(JiraCommentAction())
    register.add(JiraTransitionAction())


@hookimpl
def govflow_settings() -> type[msgspec.Struct]:
    """Declare :class:`JiraSettings`."""
    return JiraSettings


def build_resources(settings: JiraSettings, redis_url: str | None) -> JiraResources:
    """The client for ``settings`` (none when Jira is disabled), guarded through ``redis_url``.

    :raises ValueError: Jira is enabled without a site, an account or a token (one line names
        each missing variable), or with a site the token must not be sent to in clear.
    """
    if not settings.enabled:
        return JiraResources(settings)
    if settings.missing:
        raise ValueError("required when JIRA_ENABLED=true: " + ", ".join(settings.missing))
    if settings.url_problem:
        raise ValueError(settings.url_problem)
    guard: Guard | None = None
    if redis_url:
        guard = RedisGuard(
            aioredis.Redis.from_url(redis_url, socket_timeout=5),
            rate_max=settings.rate_limit_max,
            rate_window_ms=settings.rate_limit_window_ms,
            breaker_failures=settings.breaker_failures,
            breaker_window_seconds=settings.breaker_window_seconds,
            breaker_cooldown_seconds=settings.breaker_cooldown_seconds,
            prefix=settings.redis_prefix,
        )
    return JiraResources(settings, JiraClient(settings, guard))


@hookimpl
def govflow_startup(settings: JiraSettings, host: PluginHost) -> JiraResources:
    """Build the Jira client (when enabled) with its rate cap and breaker in the host's Redis."""
    return build_resources(settings, host.redis_url)


@hookimpl
async def govflow_shutdown(resources: JiraResources | None) -> None:
    """Close the client's connections."""
    if resources is not None and resources.client is not None:
        await resources.client.aclose()
