"""Migrating from zero gives exactly the schema the Piccolo tables declare."""

from __future__ import annotations

import asyncpg
import pytest
from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import Column

from govflow.adapters.db.migrations import discover, migrate
from govflow.adapters.db.tables import ALL_TABLES

PG_TYPES: dict[type[Column], str] = {
    UUID: "uuid",
    Varchar: "character varying",
    Text: "text",
    Boolean: "boolean",
    Integer: "integer",
    BigInt: "bigint",
    BigSerial: "bigint",
    Serial: "integer",
    Timestamptz: "timestamp with time zone",
    JSONB: "jsonb",
    Array: "ARRAY",
}


def declared_type(column: Column) -> str:
    if isinstance(column, ForeignKey):
        return declared_type(column._foreign_key_meta.resolved_target_column)
    for kind, name in PG_TYPES.items():
        if type(column) is kind:
            return name
    raise AssertionError(f"no mapping for {type(column).__name__}")


def declared_schema() -> dict[str, dict[str, tuple[str, bool]]]:
    schema: dict[str, dict[str, tuple[str, bool]]] = {}
    for table in ALL_TABLES:
        columns = {}
        for column in table._meta.columns:
            nullable = bool(column._meta.null) and not column._meta.primary_key
            columns[column._meta.db_column_name] = (declared_type(column), nullable)
        schema[table._meta.tablename] = columns
    return schema


async def migrated_schema(conn: asyncpg.Connection) -> dict[str, dict[str, tuple[str, bool]]]:
    rows = await conn.fetch(
        """SELECT table_name, column_name, data_type, is_nullable
           FROM information_schema.columns
           WHERE table_schema = 'public' AND table_name <> 'schema_migrations'"""
    )
    schema: dict[str, dict[str, tuple[str, bool]]] = {}
    for row in rows:
        schema.setdefault(row["table_name"], {})[row["column_name"]] = (
            row["data_type"],
            row["is_nullable"] == "YES",
        )
    return schema


async def test_migrating_from_zero_gives_the_declared_schema(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrated_schema(conn) == declared_schema()
    finally:
        await conn.close()


async def test_migrations_are_recorded_once_and_rerun_is_a_no_op(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn) == []
        names = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
        assert sorted(names) == [m.name for m in discover()]
    finally:
        await conn.close()


async def test_concurrent_migrations_from_zero_apply_each_file_once(
    postgres_url: str,
) -> None:
    import asyncio
    import uuid

    from tests.conftest import with_database

    name = f"govflow_m_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conns = [await asyncpg.connect(with_database(postgres_url, name)) for _ in range(4)]
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [name for result in results for name in result]
        assert sorted(applied) == [m.name for m in discover()]
        rows = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert rows == len(discover())
        for c in conns:
            await c.close()
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_changed_applied_migration_is_refused(database_url: str) -> None:
    from govflow.adapters.db.migrations import Migration, MigrationError

    conn = await asyncpg.connect(database_url)
    try:
        first = discover()[0]
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await migrate(conn, [Migration(first.name, first.sql + "\n-- edited")])
    finally:
        await conn.close()
