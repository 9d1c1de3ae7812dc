"""The object graph every GovFlow process runs on: stores, use cases, queue and plugins.

The API, the worker, the scheduler and the CLI all start here (:func:`container`); nothing outside
:mod:`govflow.bootstrap` constructs an adapter. Stores without state of their own are built once;
use cases that hold the queue are built when asked for, so that a test swapping the queue is
seen by the next request.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import redis.asyncio as aioredis
from taskiq import AsyncBroker

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.department_status import PgDepartmentStatus
from govflow.adapters.db.directory import PgDirectory
from govflow.adapters.db.engine import Database
from govflow.adapters.db.execution_deadlines import PgExecutionDeadlines
from govflow.adapters.db.execution_list import PgExecutionReader
from govflow.adapters.db.executions import PgWorkflowCatalog
from govflow.adapters.db.foreach_items import PgItemResults
from govflow.adapters.db.group_commit import RoundBounds
from govflow.adapters.db.long_actions import PgSignalStore
from govflow.adapters.db.migrations import discover
from govflow.adapters.db.operations import PgExecutionControl
from govflow.adapters.db.specs import CachedSpecSource
from govflow.adapters.db.start_rounds import RoundStartWriter
from govflow.adapters.db.steps import PgStepStore
from govflow.adapters.db.subworkflows import PgSubWorkflowStore
from govflow.adapters.db.task_deadlines import PgDeadlines, PgNoticeOutbox
from govflow.adapters.db.tasks import PgTaskStore
from govflow.adapters.db.timers import PgTimerStore
from govflow.adapters.db.trace_contexts import PgTraceContexts
from govflow.adapters.db.triggers import PgScheduleStore, PgTriggerReader, PgWebhookCatalog
from govflow.adapters.db.workflow_queries import PgWorkflowAdmin
from govflow.adapters.metrics import PrometheusStepMetrics, observe_round, worker_measured
from govflow.adapters.outbound import guarded_client
from govflow.adapters.queue.broker import build_broker
from govflow.adapters.queue.tasks import TaskiqStepQueue
from govflow.adapters.services import ServiceUrls, resolve_service_urls
from govflow.adapters.task_metrics import PrometheusDeadlineMetrics, PrometheusNoticeMetrics
from govflow.core.destinations import AddressPolicy
from govflow.core.secrets import SecretLookup
from govflow.plugins.host import PluginHost
from govflow.plugins.manager import PluginManager
from govflow.plugins.registry import ActionRegistry
from govflow.plugins.secrets import EnvironmentSecrets, secret_lookup
from govflow.plugins.settings import PluginSettings, plugin_environment
from govflow.settings import Settings
from govflow.usecases.action_host import ActionHost
from govflow.usecases.audit import AuditEntry
from govflow.usecases.execution_admin import ExecutionAdmin
from govflow.usecases.run_step import StepRunner
from govflow.usecases.schedule_triggers import ScheduleFirer
from govflow.usecases.start_execution import (
    ExecutionWriter,
    StartRequest,
    StartResult,
    start_execution,
)
from govflow.usecases.subworkflows import ChildStarter
from govflow.usecases.sweep import Sweeper
from govflow.usecases.task_deadlines import TaskSweep
from govflow.usecases.task_notifications import TaskNotifier
from govflow.usecases.trigger_views import TriggersView, workflow_triggers
from govflow.usecases.webhooks import WebhookReceiver
from govflow.usecases.workflow_admin import WorkflowAdmin

log = logging.getLogger(__name__)


def finish_rounds(settings: Settings) -> RoundBounds | None:
    """How the step finishes of a process are grouped into rounds (``None``: not grouped)."""
    if settings.step_round_max_rows <= 1:
        return None
    return RoundBounds(
        max_wait=settings.step_round_max_wait_us / 1_000_000,
        max_items=settings.step_round_max_rows,
        max_in_flight=settings.step_round_in_flight,
    )


@dataclass(frozen=True)
class _ContainerQueue:
    """The container's queue when a wake-up is sent (a test may replace it after startup)."""

    services: Container

    async def wake(self, step_ids: Sequence[uuid.UUID]) -> None:
        await self.services.queue.wake(step_ids)


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
    executions: ExecutionWriter
    """Creates executions: in rounds of the starts that arrive together (:func:`start_writer`)."""
    control: PgExecutionControl
    departments: PgDepartmentStatus
    workflows: PgWorkflowAdmin
    """Workflow definitions: the one listing, detail and version read path (API and CLI), and
    the store that saves loaded files."""
    execution_reader: PgExecutionReader
    """Executions as the API and the CLI read them."""
    tasks: PgTaskStore
    """Human tasks: read, and decided on (with their execution locked)."""

    async def migrations(self) -> tuple[list[str], list[str]]:
        """The migrations the database has applied, and those this code has that it lacks
        (every one, when the database cannot say)."""
        try:
            rows = await self.db.pool.fetch("SELECT name FROM schema_migrations ORDER BY name")
        except Exception:
            rows = []
        applied = [str(row["name"]) for row in rows]
        return applied, [m.name for m in discover() if m.name not in set(applied)]

    async def record_audit(self, entries: list[AuditEntry]) -> None:
        """Append audit entries in a transaction of their own."""
        async with self.db.transaction() as conn:
            await append_audit(conn, entries)

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
            departments=self.departments,
        )

    def schedule_firer(self) -> ScheduleFirer:
        """Starts the executions of the schedule triggers' due slots (the scheduler's tick)."""
        return ScheduleFirer(PgScheduleStore(self.db.pool), self.start_execution, self.record_audit)

    def webhook_receiver(self) -> WebhookReceiver:
        """Receives webhook deliveries (``POST /webhooks/<workflow>``)."""
        return WebhookReceiver(
            PgWebhookCatalog(self.db.pool),
            self.secrets,
            self.start_execution,
            self.record_audit,
            lambda: datetime.now(UTC),
        )

    async def workflow_triggers(
        self, workflow_id: uuid.UUID, department: uuid.UUID | None
    ) -> TriggersView:
        """A workflow's triggers, their last and next fire and recent events."""
        return await workflow_triggers(
            PgTriggerReader(self.db.pool),
            workflow_id,
            department,
            now=datetime.now(UTC),
            secret_known=lambda name: bool(self.secrets(name)),
        )

    @property
    def action_host(self) -> ActionHost:
        return ActionHost(
            actions=self.actions,
            plugin_settings=self.plugin_settings.for_plugin,
            http=self.http,
            resources=self.plugins.resources,
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
            secrets=self.secrets,
            subworkflows=(PgSubWorkflowStore(self.db.pool), PgSignalStore(self.db.pool)),
            items=PgItemResults(self.db.pool),
            foreach_max_items=self.settings.foreach_max_items,
            timers=PgTimerStore(self.db.pool),
        )

    @functools.cached_property
    def secrets(self) -> SecretLookup:
        """The secret providers: the environment's ``GOVFLOW_SECRET_<NAME>``, then the plugins'."""
        providers = self.plugins.secret_providers(self.plugin_settings)
        return secret_lookup([EnvironmentSecrets(_plugin_env()), *providers])

    def sweeper(self) -> Sweeper:
        """The sweeper (``sweep_once(department)`` sweeps one department's steps only: a
        MANAGER's recovery)."""
        return Sweeper(
            store=self.steps,
            specs=self.specs,
            queue=self.queue,
            host=self.action_host,
            worker_id=_process_id("sweeper"),
            lease=self.lease,
            resend_after=timedelta(seconds=self.settings.unclaimed_resend_seconds),
            metrics=PrometheusStepMetrics(),
            tasks=self.task_sweep(),
            traces=PgTraceContexts(self.db.pool),
            timeouts=(PgExecutionDeadlines(self.db.pool), self.control),
            subworkflows=(PgSubWorkflowStore(self.db.pool), PgSignalStore(self.db.pool)),
            timers=(PgTimerStore(self.db.pool), PgSignalStore(self.db.pool)),
        )

    def task_sweep(self) -> TaskSweep:
        """The deadline sweep of human tasks and the sender of their notifications."""
        notifier = TaskNotifier(
            outbox=PgNoticeOutbox(self.db.pool),
            host=self.action_host,
            metrics=PrometheusNoticeMetrics(),
        )
        return TaskSweep(
            tasks=self.tasks,
            deadlines=PgDeadlines(self.db.pool),
            notifier=notifier,
            metrics=PrometheusDeadlineMetrics(),
        )

    def workflow_admin(self) -> WorkflowAdmin:
        """The workflow endpoints' use cases, over the installed actions."""
        return WorkflowAdmin(self.workflows, self.actions.inputs(), departments=self.departments)

    def execution_admin(self) -> ExecutionAdmin:
        """The execution endpoints' use cases."""
        return ExecutionAdmin(
            self.execution_reader, self.start_execution, self.control, self.queue, self.sweeper()
        )


def start_writer(pool: asyncpg.Pool, settings: Settings) -> RoundStartWriter:
    """One process's writer of executions, shared by the API, triggers and ``workflow`` steps:
    the starts that arrive together are created in one round (``START_ROUND_*`` settings);
    ``START_ROUND_MAX_ROWS=1`` makes every round one start, one statement each."""
    bounds = RoundBounds(
        max_wait=settings.start_round_max_wait_us / 1_000_000,
        max_items=settings.start_round_max_rows,
    )
    return RoundStartWriter(pool, bounds, functools.partial(observe_round, "starts"))


def _plugin_env() -> dict[str, str]:
    """The environment plugins read their settings from: ``.env`` overridden by the process's
    environment, as for GovFlow's own settings."""
    return plugin_environment(os.environ)


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
    env = _plugin_env()
    manager = plugins or PluginManager.from_env(env)
    actions = manager.actions()
    plugin_settings = manager.settings(env)
    db = Database(
        urls.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        application_name=role,
        round_connections=2 * settings.step_round_in_flight if finish_rounds(settings) else 0,
    )
    await db.start()
    redis_client = aioredis.Redis.from_url(urls.redis_url, socket_timeout=5)
    broker = build_broker(urls.redis_url, queue_name=settings.queue_name)
    broker.is_worker_process = worker
    http = guarded_client(
        AddressPolicy.parse(settings.outbound_allow_networks), timeout=httpx.Timeout(30.0)
    )
    writer = start_writer(db.pool, settings)
    children = ChildStarter(
        store=PgSubWorkflowStore(db.pool),
        specs=CachedSpecSource(db.pool),
        writer=writer,
        queue=TaskiqStepQueue(broker),
        max_depth=settings.max_workflow_depth,
    )
    try:
        await manager.startup(
            plugin_settings,
            PluginHost(
                http=http,
                process=role,
                directory=PgDirectory(db),
                redis_url=urls.redis_url,
                executions=children,
            ),
        )
        if not worker:
            await broker.startup()
        services = Container(
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
            steps=PgStepStore(
                db.pool,
                rounds=finish_rounds(settings),
                round_pool=db.round_pool,
                # a worker measures its rounds only when someone can read them, as its steps
                observe_round=(
                    observe_round
                    if not worker or worker_measured(settings.worker_metrics_port)
                    else None
                ),
            ),
            catalog=PgWorkflowCatalog(db.pool),
            executions=writer,
            control=PgExecutionControl(db.pool, PrometheusNoticeMetrics()),
            departments=PgDepartmentStatus(db.pool),
            workflows=PgWorkflowAdmin(db),
            execution_reader=PgExecutionReader(db.pool, settings.queue_name),
            tasks=PgTaskStore(db, PrometheusNoticeMetrics()),
        )
        children.queue = _ContainerQueue(services)
        yield services
    finally:
        if not worker:
            await broker.shutdown()
        await manager.shutdown()
        await writer.close()
        await http.aclose()
        await redis_client.aclose()
        await db.close()
