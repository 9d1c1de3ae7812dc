"""Real PostgreSQL and Redis for the tests.

The servers named by ``GOVFLOW_TEST_DATABASE_URL`` / ``GOVFLOW_TEST_REDIS_URL`` are used when set;
otherwise embedded ones are started for the session. Each test gets a fresh database cloned from
a migrated template, and its own queue name and Redis key space.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
import structlog

from govflow.adapters.db.migrations import migrate
from govflow.settings import Mode, Settings

TEST_JWT_SECRET = "test-secret-" + "x" * 40


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session", autouse=True)
def _loggers_never_cached() -> Iterator[None]:
    """CLI commands run in-process configure structlog as for a real process, which caches each
    logger on its first use; a cached logger no longer reaches ``structlog.testing.capture_logs``
    in a later test of the same worker, whichever file ran first. Tests keep loggers uncached."""
    configure = structlog.configure

    def uncached(**settings: object) -> None:
        configure(**{**settings, "cache_logger_on_first_use": False})  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(structlog, "configure", uncached)
        yield


@pytest.fixture(scope="session")
def embedded_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="gf-", dir="/tmp"))


@pytest.fixture(scope="session")
def postgres_url(embedded_home: Path) -> Iterator[str]:
    configured = os.environ.get("GOVFLOW_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    from govflow.adapters.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(embedded_home)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_home: Path) -> Iterator[str]:
    configured = os.environ.get("GOVFLOW_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    from govflow.adapters.embedded import EmbeddedRedis

    server = EmbeddedRedis(embedded_home)
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
async def template_database(postgres_url: str) -> AsyncIterator[str]:
    name = f"govflow_tpl_{os.getpid()}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(postgres_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(postgres_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"govflow_t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    try:
        for attempt in range(20):
            try:
                await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
                break
            except asyncpg.ObjectInUseError:
                await asyncio.sleep(0.05 * (attempt + 1))
        yield with_database(postgres_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def redis_namespace(redis_url: str) -> AsyncIterator[str]:
    """A unique prefix for this test's Redis keys; the keys are deleted afterwards."""
    prefix = f"gft:{uuid.uuid4().hex[:10]}"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def settings(database_url: str, redis_url: str, redis_namespace: str, tmp_path: Path) -> Settings:
    return Settings(
        mode=Mode.TEST,
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=TEST_JWT_SECRET,
        queue_name=f"{redis_namespace}:steps",
        govflow_home=tmp_path / "home",
        workflows_dir=Path(__file__).parent.parent / "workflows.d",
        db_pool_min=1,
        db_pool_max=5,
        _env_file=None,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[object]:
    from govflow.bootstrap import container

    async with container(settings) as built:
        yield built
