"""Schema migrations: ordered ``.sql`` files applied once each, under a Postgres advisory lock.

Each file runs in its own transaction and is recorded in ``schema_migrations`` with its checksum;
an applied file whose content changed afterwards is an error, never silently re-applied. Two
processes migrating at once are serialised by the lock: the second finds nothing left to do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

import govflow

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
