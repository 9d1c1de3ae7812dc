"""Helpers for engine tests: install workflows, run real worker/scheduler processes, poll."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import asyncpg

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.core.validation import validate_workflow
from govflow.plugins.manager import PluginManager
from govflow.settings import Settings
from govflow.usecases.audit import SYSTEM
from tests.support import effects_plugin

if TYPE_CHECKING:
    from govflow.bootstrap import Container
    from tests.support.peers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def plugins_for_tests() -> PluginManager:
    manager = PluginManager()
    manager.load_entry_points()
    manager.register(effects_plugin, name="tests.support.effects_plugin")
    return manager


async def install_workflow(conn: asyncpg.Connection, text: str) -> UUID:
    """Validate ``text`` against the built-in and test actions and store it; its workflow id."""
    await seed_departments(conn)
    spec = validate_workflow(text, "<test>", plugins_for_tests().actions().inputs())
    result = await PgWorkflowStore(conn).save(spec, text, None, SYSTEM)
    return result.workflow_id


async def prepare_effects(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(effects_plugin.SCHEMA)
    finally:
        await conn.close()


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GOVFLOW_MODE": "test",
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "QUEUE_NAME": settings.queue_name,
        "JWT_SECRET": str(settings.jwt_secret),
        "GOVFLOW_HOME": str(settings.home),
        "GOVFLOW_PLUGINS_MODULES": "tests.support.effects_plugin",
        "GOVFLOW_TEST_EFFECTS_DSN": str(settings.database_url),
        "PYTHONPATH": str(ROOT),
        "LEASE_SECONDS": "2",
        "SWEEP_INTERVAL_SECONDS": "0.3",
        "UNCLAIMED_RESEND_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "DB_POOL_MIN": "1",
        "DB_POOL_MAX": "4",
    }
    env.update(extra)
    return env


class CollectingQueue:
    """Keeps the wake-ups instead of sending them: the test decides which step runs when."""

    def __init__(self) -> None:
        self.woken: list[UUID] = []

    async def wake(self, step_ids: Sequence[UUID]) -> None:
        self.woken.extend(step_ids)


class Processes:
    """GovFlow worker/scheduler processes started by a test; all stopped at the end."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.settings = settings
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "govflow", role, *args],
            env=process_env(self.settings, **self.env),
            cwd=ROOT,
        )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def processes(settings: Settings, **env: str) -> Iterator[Processes]:
    group = Processes(settings, **env)
    try:
        yield group
    finally:
        group.stop_all()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    every: float = 0.05,
) -> T:
    """Poll ``probe`` until ``accept`` holds; at the deadline, fail showing the last value."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(every)
        value = await probe()
    return value


async def execution_status(conn: asyncpg.Connection, execution_id: UUID) -> str:
    return str(await conn.fetchval("SELECT status FROM executions WHERE id = $1", execution_id))


async def step_rows(conn: asyncpg.Connection, execution_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT step_key, status, attempt, output::text AS output, error::text AS error "
        "FROM execution_steps WHERE execution_id = $1 ORDER BY position",
        execution_id,
    )
    return [dict(r) for r in rows]


async def mails_swept(services: Container, smtp: SmtpServer, count: int) -> None:
    """Run the sweeper (which sends the stored notices) until ``count`` mails arrived at
    ``smtp``; fail after 15 s."""
    deadline = time.monotonic() + 15
    while len(smtp.messages) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(smtp.messages)} mails, expected {count}")
        await services.sweeper().sweep_once()
        await asyncio.sleep(0.05)
