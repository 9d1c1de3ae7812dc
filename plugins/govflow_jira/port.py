"""What the Jira actions need from a Jira client; the host's HTTP adapter provides it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from govflow.plugins import ActionContext, BusinessError

EXTRAS_KEY = "jira"
"""The ``ActionContext.extras`` key under which the host offers its Jira client."""

_TRUE = frozenset({"1", "true", "yes", "on"})


class JiraPort(Protocol):
    """Jira operations that carry GovFlow's idempotency key alongside their effect.

    Client errors follow the action contract: ``BusinessError`` for refusals (4xx),
    ``TechnicalError`` for timeouts, 429 and 5xx.
    """

    async def add_comment(self, issue: str, body: str, key: str) -> Mapping[str, Any]:
        """Add ``body`` to ``issue`` and store ``key`` as a comment property; return
        ``{"comment_id": ...}``."""
        ...

    async def find_comment(self, issue: str, key: str) -> Mapping[str, Any] | None:
        """Return ``{"comment_id": ...}`` of the comment carrying ``key``, if any."""
        ...

    async def transition(
        self, issue: str, *, to_status: str | None, transition_id: str | None, key: str
    ) -> Mapping[str, Any]:
        """Move ``issue`` and record ``key`` in an issue property; return ``{"status": ...}``."""
        ...

    async def find_transition(self, issue: str, key: str) -> Mapping[str, Any] | None:
        """Return ``{"status": ...}`` when the transition carrying ``key`` was applied."""
        ...


def jira_client(ctx: ActionContext) -> JiraPort:
    """Return the host's Jira client.

    :raises BusinessError: Jira is disabled, or enabled without a client.
    """
    if ctx.settings.get("enabled", "false").strip().lower() not in _TRUE:
        raise BusinessError("Jira is not configured (JIRA_ENABLED=false)")
    client = ctx.extras.get(EXTRAS_KEY)
    if client is None:
        raise BusinessError("Jira is enabled but this process offers no Jira client")
    return client  # type: ignore[no-any-return]
