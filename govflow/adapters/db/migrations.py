"""Schema migrations: ordered ``.sql`` files applied once each, under a Postgres advisory lock.

Each file runs in its own transaction and is recorded in ``schema_migrations`` with its checksum;
an applied file whose content changed afterwards is an error, never silently re-applied. Two
processes migrating at once are serialised by the lock: the second finds nothing left to do.

Migrations run as the database's owner (``MIGRATION_DATABASE_URL``, else ``DATABASE_URL``) on a
connection of their own, never through the application's pool, whose sessions act as the
least-privileged ``govflow_app`` role and may not change the schema.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

import govflow
from govflow.adapters.db.roles import RoleError, grant_app_role

MIGRATIONS_LOCK_KEY = 0x60F10_0001


class MigrationError(Exception):
    """The migrations on disk and the ones recorded in the database disagree."""


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_folder() -> Path:
    """The folder of ``.sql`` migrations: in the wheel, or at the root of a source checkout."""
    package_dir = Path(govflow.__file__).parent
    for candidate in (package_dir / "_migrations", package_dir.parent / "migrations"):
        if candidate.is_dir():
            return candidate
    raise MigrationError(f"no migrations folder next to {package_dir}")


def discover(folder: Path | None = None) -> list[Migration]:
    folder = folder or migrations_folder()
    return [Migration(p.name, p.read_text()) for p in sorted(folder.glob("*.sql"))]


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply the pending migrations; return the names applied by this call."""
    migrations = discover() if migrations is None else migrations
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name varchar(200) PRIMARY KEY,
                   checksum varchar(64) NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        recorded = {
            row["name"]: row["checksum"]
            for row in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        for migration in migrations:
            if migration.name in recorded:
                if recorded[migration.name] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.name} was changed after it was applied; "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(migration.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK_KEY)
    return applied_now


async def migrate_database(url: str, *, app_login: str | None = None) -> list[str]:
    """Apply the pending migrations as the user ``url`` names; return the names applied.

    :param app_login: the login the application connects as; when it is not the migrating user,
        it is made a member of ``govflow_app`` (if it is not one, or a superuser, already).
    """
    conn = await asyncpg.connect(url)
    try:
        applied = await migrate(conn)
        if app_login and app_login != await conn.fetchval("SELECT current_user"):
            try:
                await grant_app_role(conn, app_login)
            except RoleError as exc:
                raise MigrationError(str(exc)) from None
        return applied
    finally:
        await conn.close()
