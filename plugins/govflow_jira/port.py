"""The plugin's resources: its settings and the client built from them when a process starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from govflow.plugins import ActionContext, BusinessError
from govflow_jira.client import JiraClient
from govflow_jira.config import JiraSettings
from govflow_jira.connection import check_connection


@dataclass(frozen=True, slots=True)
class JiraResources:
    """What ``govflow_startup`` builds: the client, when Jira is enabled and configured.

    :ivar settings: the plugin's settings.
    :ivar client: the Jira client (``None`` when Jira is disabled).
    """

    settings: JiraSettings
    client: JiraClient | None = None

    async def check_connection(self) -> dict[str, Any]:
        """The connection test's report (see :mod:`govflow_jira.connection`), with the circuit
        breaker's state."""
        circuit = await self.client.guard.state() if self.client is not None else None
        return await check_connection(self.settings, circuit=circuit)


def jira_client(ctx: ActionContext) -> JiraClient:
    """The client the plugin built at startup.

    :raises BusinessError: Jira is disabled in this process.
    """
    resources: Any = getattr(ctx, "resources", None)
    if isinstance(resources, JiraResources) and resources.client is not None:
        return resources.client
    if isinstance(resources, JiraClient):
        return resources
    raise BusinessError("Jira is not configured (JIRA_ENABLED=false)")
