"""The application runs as ``govflow_app``: it appends to the audit tables but cannot rewrite,
delete or truncate them, nor change the schema; nobody can TRUNCATE the audit tables."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from govflow.adapters.db.engine import Database
from govflow.adapters.db.migrations import MigrationError, migrate_database
from govflow.adapters.db.roles import APP_ROLE, ensure_login_role, with_user

REFUSED = [
    "UPDATE audit_logs SET reason = 'x'",
    "DELETE FROM audit_logs",
    "TRUNCATE audit_logs",
    "UPDATE audit_seals SET hash = 'x'",
    "DELETE FROM audit_seals",
    "TRUNCATE audit_seals",
    "TRUNCATE users",
    "INSERT INTO schema_migrations (name, checksum) VALUES ('x', 'x')",
    "ALTER TABLE audit_logs DISABLE TRIGGER USER",
    "DROP TABLE audit_logs",
    "CREATE TABLE t (id int)",
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The application's pool, as the bootstrap builds it (the login user is a superuser)."""
    db = Database(database_url, min_size=1, max_size=2)
    await db.start()
    yield db.pool
    await db.close()


@pytest.mark.parametrize("statement", REFUSED)
async def test_the_application_role_is_refused(pool: asyncpg.Pool, statement: str) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


async def test_the_application_role_survives_resets_and_keeps_what_it_needs(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        await conn.execute("RESET ROLE")
        await conn.execute("RESET ALL")
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        await conn.execute("INSERT INTO audit_logs (action) VALUES ('TEST_EVENT')")
        assert await conn.fetchval("SELECT count(*) FROM audit_logs") == 1
        department = await conn.fetchval(
            "INSERT INTO departments (code, name) VALUES ('d-x', 'X') RETURNING id"
        )
        await conn.execute("UPDATE departments SET name = 'Y' WHERE id = $1", department)
        await conn.execute("DELETE FROM departments WHERE id = $1", department)
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0


@pytest.mark.parametrize("table", ["audit_logs", "audit_seals"])
async def test_truncate_of_the_audit_tables_is_refused_even_to_the_owner(
    database_url: str, table: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO audit_logs (action) VALUES ('TEST_EVENT')")
        with pytest.raises(asyncpg.RaiseError, match=f"{table} is append-only: TRUNCATE refused"):
            await conn.execute(f"TRUNCATE {table} CASCADE")
        with pytest.raises(asyncpg.RaiseError, match="append-only: TRUNCATE refused"):
            await conn.execute("TRUNCATE audit_logs, audit_seals")
        assert await conn.fetchval("SELECT count(*) FROM audit_logs") == 1
    finally:
        await conn.close()


async def test_a_login_made_a_member_by_migrate_works_as_the_application_role(
    database_url: str,
) -> None:
    login = f"gft_login_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE ROLE {login} LOGIN")
    try:
        login_url = with_user(database_url, login, "unused")
        with pytest.raises(RuntimeError, match=f"no role {APP_ROLE} that this login may act as"):
            await Database(login_url, min_size=1, max_size=1).start()
        assert await migrate_database(database_url, app_login=login) == []
        db = Database(login_url, min_size=1, max_size=1)
        await db.start()
        try:
            async with db.pool.acquire() as conn:
                row = await conn.fetchrow("SELECT current_user, session_user")
                assert tuple(row) == (APP_ROLE, login)
                await conn.execute("INSERT INTO audit_logs (action) VALUES ('TEST_EVENT')")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("DELETE FROM audit_logs")
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("SET ROLE postgres")
        finally:
            await db.close()
    finally:
        await admin.execute(f"DROP ROLE {login}")
        await admin.close()


async def test_migrate_names_the_grant_it_cannot_make(database_url: str) -> None:
    owner, login = (f"gft_{kind}_{uuid.uuid4().hex[:10]}" for kind in ("owner", "login"))
    admin = await asyncpg.connect(database_url)
    await admin.execute(f"CREATE ROLE {owner} LOGIN")
    await admin.execute(f"CREATE ROLE {login} LOGIN")
    await admin.execute(f"GRANT CREATE ON SCHEMA public TO {owner}")
    await admin.execute(f"GRANT SELECT ON schema_migrations TO {owner}")
    try:
        with pytest.raises(MigrationError, match=f'GRANT {APP_ROLE} TO "{login}"'):
            await migrate_database(with_user(database_url, owner, "x"), app_login=login)
    finally:
        await admin.execute(f"DROP OWNED BY {owner}")
        await admin.execute(f"DROP ROLE {owner}")
        await admin.execute(f"DROP ROLE {login}")
        await admin.close()


async def test_ensure_login_role_creates_a_plain_member_and_is_idempotent(
    database_url: str,
) -> None:
    login = f"gft_login_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(database_url)
    try:
        await ensure_login_role(admin, login, "first")
        await ensure_login_role(admin, login, "second")
        row = await admin.fetchrow(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, pg_has_role(oid, $2, 'MEMBER') AS m "
            "FROM pg_roles WHERE rolname = $1",
            login,
            APP_ROLE,
        )
        assert tuple(row) == (True, False, False, True)
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {login}")
        await admin.close()
