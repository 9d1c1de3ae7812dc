"""What the host offers a plugin when it starts: ``govflow_startup(settings, host)``."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from govflow.plugins.children import ChildExecutions
from govflow.plugins.directory import Directory


@dataclass(frozen=True, slots=True)
class PluginHost:
    """The services of the process a plugin starts in.

    :ivar http: the process's shared ``httpx.AsyncClient`` (outbound requests are guarded, see
        docs/operations.md, "Outbound requests"); the same client is ``ctx.http``. Never close
        it; a plugin that needs other defaults (a base URL, auth) builds its own client around
        ``http``'s transport or its own, and closes that in ``govflow_shutdown``.
    :ivar process: the process's role: ``govflow-worker``, ``govflow-scheduler``, ``govflow``
        (the API and CLI commands), ``test`` in the test kit.
    :ivar directory: users and departments by the names workflow authors write (``None`` where
        there is no database, as in the test kit).
    :ivar redis_url: the Redis the process uses (for state shared by every worker, e.g. a rate
        cap); ``None`` where there is none.
    :ivar executions: starts the child executions of ``workflow`` steps (``None`` where there
        is no database).
    """

    http: httpx.AsyncClient
    process: str = "govflow"
    directory: Directory | None = None
    redis_url: str | None = None
    executions: ChildExecutions | None = None
