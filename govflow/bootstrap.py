"""The composition root: builds GovFlow's object graph from settings, for every process.

The API, the worker, the scheduler and the CLI all start here; nothing else constructs adapters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import redis.asyncio as aioredis
from taskiq import AsyncBroker

from govflow.adapters.db.department_status import PgDepartmentStatus
from govflow.adapters.db.engine import Database
from govflow.adapters.db.executions import PgExecutionWriter, PgWorkflowCatalog
from govflow.adapters.db.operations import PgExecutionControl
from govflow.adapters.db.specs import CachedSpecSource
from govflow.adapters.db.steps import PgStepStore
from govflow.adapters.metrics import PrometheusStepMetrics
from govflow.adapters.outbound import guarded_client
from govflow.adapters.queue.broker import build_broker
from govflow.adapters.queue.tasks import TaskiqStepQueue
from govflow.adapters.services import ServiceUrls, resolve_service_urls
from govflow.core.destinations import AddressPolicy
from govflow.plugins.manager import PluginManager
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.settings import PluginSettings
from govflow.settings import Settings
from govflow.usecases.action_host import ActionHost
from govflow.usecases.run_step import StepRunner
from govflow.usecases.start_execution import StartRequest, StartResult, start_execution
from govflow.usecases.sweep import Sweeper

log = logging.getLogger(__name__)


def _process_id(role: str) -> str:
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Container:
    """Everything a GovFlow process needs, started and ready."""

    settings: Settings
    urls: ServiceUrls
    db: Database
    redis: aioredis.Redis
    plugins: PluginManager
    actions: ActionRegistry
    plugin_settings: PluginSettings
    http: httpx.AsyncClient
    broker: AsyncBroker
    queue: TaskiqStepQueue
    specs: CachedSpecSource
    steps: PgStepStore
    catalog: PgWorkflowCatalog
    executions: PgExecutionWriter
    control: PgExecutionControl
    extras: Mapping[str, object] = field(default_factory=dict)

    async def redis_ok(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (aioredis.RedisError, OSError):
            return False

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    async def start_execution(self, request: StartRequest) -> StartResult:
        return await start_execution(
            request,
            catalog=self.catalog,
            specs=self.specs,
            writer=self.executions,
            queue=self.queue,
            departments=PgDepartmentStatus(self.db.pool),
        )

    @property
    def action_host(self) -> ActionHost:
        return ActionHost(
            actions=self.actions,
            plugin_settings=self.plugin_settings.for_plugin,
            http=self.http,
            extras=self.extras,
        )

    def step_runner(self) -> StepRunner:
        return StepRunner(
            store=self.steps,
            specs=self.specs,
            queue=self.queue,
            host=self.action_host,
            worker_id=_process_id("worker"),
            lease=self.lease,
            metrics=PrometheusStepMetrics(),
        )

    def sweeper(self) -> Sweeper:
        return Sweeper(
            store=self.steps,
            specs=self.specs,
            queue=self.queue,
            host=self.action_host,
            worker_id=_process_id("sweeper"),
            lease=self.lease,
            resend_after=timedelta(seconds=self.settings.unclaimed_resend_seconds),
            metrics=PrometheusStepMetrics(),
        )


def _plugin_env(settings: Settings) -> dict[str, str]:
    """The environment plugins read, with GovFlow's own Jira settings mapped onto the plugin's."""
    env = dict(os.environ)
    if settings.jira_enabled:
        env.setdefault("GOVFLOW_PLUGIN_JIRA_ENABLED", "true")
    return env


@contextlib.asynccontextmanager
async def container(
    settings: Settings,
    urls: ServiceUrls | None = None,
    *,
    worker: bool = False,
    plugins: PluginManager | None = None,
    role: str = "govflow",
) -> AsyncIterator[Container]:
    """Build, start and finally close the object graph.

    :param worker: the broker runs as a worker (its task registrations are consumed here).
    :param plugins: a ready plugin manager (tests); by default loaded from the entry points.
    :param role: names the process's database sessions (``application_name``).
    """
    urls = urls or resolve_service_urls(settings)
    env = _plugin_env(settings)
    manager = plugins or PluginManager.from_env(env)
    actions = manager.actions()
    plugin_settings = manager.settings(env)
    db = Database(
        urls.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        application_name=role,
    )
    await db.start()
    redis_client = aioredis.Redis.from_url(urls.redis_url, socket_timeout=5)
    broker = build_broker(urls.redis_url, queue_name=settings.queue_name)
    broker.is_worker_process = worker
    http = guarded_client(
        AddressPolicy.parse(settings.outbound_allow_networks), timeout=httpx.Timeout(30.0)
    )
    try:
        await manager.startup(plugin_settings)
        if not worker:
            await broker.startup()
        yield Container(
            settings=settings,
            urls=urls,
            db=db,
            redis=redis_client,
            plugins=manager,
            actions=actions,
            plugin_settings=plugin_settings,
            http=http,
            broker=broker,
            queue=TaskiqStepQueue(broker),
            specs=CachedSpecSource(db.pool),
            steps=PgStepStore(db.pool),
            catalog=PgWorkflowCatalog(db.pool),
            executions=PgExecutionWriter(db.pool),
            control=PgExecutionControl(db.pool),
        )
    finally:
        if not worker:
            await broker.shutdown()
        await manager.shutdown()
        await http.aclose()
        await redis_client.aclose()
        await db.close()
