"""Where the database and Redis are: the configured URLs, or the embedded servers."""

from __future__ import annotations

from dataclasses import dataclass, field

from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis
from govflow.settings import Settings


@dataclass(frozen=True, slots=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    embedded: tuple[str, ...] = field(default=())


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """The configured URLs; an embedded server is started for each one that is not set."""
    embedded: list[str] = []
    database_url = settings.database_url
    if not database_url:
        database_url = EmbeddedPostgres(settings.home).start()
        embedded.append("postgres")
    redis_url = settings.redis_url
    if not redis_url:
        redis_url = EmbeddedRedis(settings.home).start()
        embedded.append("redis")
    return ServiceUrls(database_url, redis_url, tuple(embedded))


def stop_embedded(settings: Settings) -> list[str]:
    """Stop the embedded servers under the data folder; return the ones that were running."""
    stopped = []
    if EmbeddedRedis(settings.home).stop():
        stopped.append("redis")
    if EmbeddedPostgres(settings.home).stop():
        stopped.append("postgres")
    return stopped
