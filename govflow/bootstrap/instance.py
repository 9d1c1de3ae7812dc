"""Where this instance runs: its service URLs, the embedded servers under its data folder, the
lifetime of a short command, the logging every process configures, and what an unreachable or
unmigrated database means to an operator.

``govflow.cli`` and ``govflow.http`` take these from here, never from :mod:`govflow.adapters`.
"""

from __future__ import annotations

from govflow.adapters.db.readiness import database_problem
from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedServerError
from govflow.adapters.logs import configure_logging
from govflow.adapters.services import (
    ServiceUrls,
    command_lifetime,
    resolve_service_urls,
    stop_embedded,
)
from govflow.settings import Settings

__all__ = [
    "EmbeddedServerError",
    "ServiceUrls",
    "command_lifetime",
    "configure_logging",
    "database_problem",
    "embedded_pids",
    "resolve_service_urls",
    "stop_embedded",
]


def embedded_pids(settings: Settings) -> dict[str, int | None]:
    """The pid of each embedded server (``postgres``, ``redis``) of this data folder, or
    ``None`` for one that is not running."""
    return {
        "postgres": EmbeddedPostgres(settings.home).pid(),
        "redis": EmbeddedRedis(settings.home).pid(),
    }
