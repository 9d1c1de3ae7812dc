"""The composition root: builds GovFlow's object graph from settings, for every process.

The API, the worker, the scheduler and the CLI all start here; nothing else constructs adapters.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from govflow.adapters.db.engine import Database
from govflow.adapters.services import ServiceUrls, resolve_service_urls
from govflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything a GovFlow process needs, started and ready."""

    settings: Settings
    urls: ServiceUrls
    db: Database
    redis: aioredis.Redis

    async def redis_ok(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (aioredis.RedisError, OSError):
            return False


@contextlib.asynccontextmanager
async def container(
    settings: Settings, urls: ServiceUrls | None = None
) -> AsyncIterator[Container]:
    """Build, start and finally close the object graph."""
    urls = urls or resolve_service_urls(settings)
    db = Database(urls.database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    await db.start()
    redis_client = aioredis.Redis.from_url(urls.redis_url, socket_timeout=5)
    try:
        yield Container(settings=settings, urls=urls, db=db, redis=redis_client)
    finally:
        await redis_client.aclose()
        await db.close()
