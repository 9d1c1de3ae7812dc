"""``govflow migrate``, ``govflow seed`` and ``govflow embedded``."""

from __future__ import annotations

import click

from govflow.adapters.db.migrations import MigrationError, migrate_database
from govflow.adapters.db.roles import url_user
from govflow.adapters.db.seed import seed_demo_users, seed_departments
from govflow.adapters.embedded import EmbeddedPostgres, EmbeddedRedis
from govflow.adapters.security.passwords import Passwords
from govflow.adapters.services import resolve_service_urls, stop_embedded
from govflow.bootstrap import container
from govflow.cli.common import fail, run, settings_or_exit
from govflow.settings import Settings


async def apply_migrations(settings: Settings) -> list[str]:
    """Migrate as the owner (``MIGRATION_DATABASE_URL``, else ``DATABASE_URL``'s user)."""
    url = settings.database_url or resolve_service_urls(settings).database_url
    if settings.migration_database_url:
        return await migrate_database(settings.migration_database_url, app_login=url_user(url))
    return await migrate_database(url)


@click.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations (safe to run from several processes at once)."""
    settings = settings_or_exit()
    try:
        applied = run(apply_migrations(settings))
    except MigrationError as exc:
        fail(str(exc))
    click.echo(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "")
    )


async def seed(settings: Settings) -> list[tuple[str, str, str]]:
    async with container(settings) as c, c.db.pool.acquire() as conn, conn.transaction():
        await seed_departments(conn)
        if not settings.is_development:
            return []
        credentials = await seed_demo_users(conn, settings.home, Passwords())
        return [(cred.email, cred.role, cred.password) for cred in credentials]


@click.command("seed")
def seed_command() -> None:
    """Create the departments and, in development mode, one demo user per role (idempotent)."""
    settings = settings_or_exit()
    for email, role, password in run(seed(settings)):
        click.echo(f"{role:<9} {email:<26} {password}")


@click.group("embedded")
def embedded() -> None:
    """Manage the embedded PostgreSQL and Redis under the data folder."""


@embedded.command("start")
def embedded_start() -> None:
    """Start the embedded servers (those whose URL is not configured) and print their URLs."""
    urls = resolve_service_urls(settings_or_exit())
    click.echo(f"DATABASE_URL={urls.database_url}\nREDIS_URL={urls.redis_url}")


@embedded.command("stop")
def embedded_stop() -> None:
    """Stop the embedded servers."""
    stopped = stop_embedded(settings_or_exit())
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@embedded.command("status")
def embedded_status() -> None:
    """Say which embedded servers run, with their pids."""
    settings = settings_or_exit()
    for name, pid in (
        ("postgres", EmbeddedPostgres(settings.home).pid()),
        ("redis", EmbeddedRedis(settings.home).pid()),
    ):
        click.echo(f"{name}: " + (f"running (pid {pid})" if pid else "stopped"))


commands = [migrate_command, seed_command, embedded]
