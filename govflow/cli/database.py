"""``govflow migrate``, ``govflow seed`` and ``govflow embedded``."""

from __future__ import annotations

import click

from govflow.bootstrap.database import MigrationError, apply_migrations, seed
from govflow.bootstrap.instance import embedded_pids, resolve_service_urls, stop_embedded
from govflow.cli.common import fail, run, settings_or_exit


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


@click.command("seed")
def seed_command() -> None:
    """Create the departments and, in development mode, one demo user per role (idempotent)."""
    settings = settings_or_exit()
    for cred in run(seed(settings)):
        click.echo(f"{cred.role:<9} {cred.email:<26} {cred.password}")


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
    for name, pid in embedded_pids(settings_or_exit()).items():
        click.echo(f"{name}: " + (f"running (pid {pid})" if pid else "stopped"))


commands = [migrate_command, seed_command, embedded]
