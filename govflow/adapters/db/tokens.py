"""The ``AuthStore`` port: users as authentication sees them, refresh and reset tokens.

Every method runs in one transaction together with its audit entries. Revoking sessions means
incrementing ``users.token_version`` (every access token dies) and marking the user's refresh
tokens revoked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import asyncpg

from govflow.adapters.db.audit import append_audit
from govflow.usecases.audit import AuditEntry
from govflow.usecases.auth import (
    AuthUser,
    DepartmentBlocked,
    NewRefreshToken,
    ReuseAudit,
    Rotated,
    RotateOutcome,
)
from govflow.usecases.auth import Reused as ReusedOutcome

_SELECT_USER = (
    "SELECT u.id, u.email, u.full_name, u.role, u.department_id, u.is_active, u.token_version, "
    "u.password_hash, coalesce(d.is_active, true) AS department_active "
    "FROM users u LEFT JOIN departments d ON d.id = u.department_id"
)

_INSERT_REFRESH = """
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, client_ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $6)
"""


def _user(row: asyncpg.Record) -> AuthUser:
    return AuthUser(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=row["role"],
        department_id=row["department_id"],
        is_active=row["is_active"],
        token_version=row["token_version"],
        password_hash=row["password_hash"],
        department_active=row["department_active"],
    )


async def revoke_user_sessions(conn: asyncpg.Connection, user_id: UUID) -> int:
    """Bump the token version and revoke the refresh tokens; the new token version."""
    version: int = await conn.fetchval(
        "UPDATE users SET token_version = token_version + 1, updated_at = now() "
        "WHERE id = $1 RETURNING token_version",
        user_id,
    )
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return version


async def _insert_refresh(conn: asyncpg.Connection, user_id: UUID, new: NewRefreshToken) -> None:
    await conn.execute(
        _INSERT_REFRESH,
        user_id,
        new.family_id,
        new.token_hash,
        new.expires_at,
        new.client_ip,
        new.user_agent,
    )


class PgAuthStore:
    """Authentication data in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def user_by_email(self, email: str) -> AuthUser | None:
        row = await self._pool.fetchrow(f"{_SELECT_USER} WHERE lower(u.email) = lower($1)", email)
        return _user(row) if row else None

    async def user_by_id(self, user_id: UUID) -> AuthUser | None:
        row = await self._pool.fetchrow(f"{_SELECT_USER} WHERE u.id = $1", user_id)
        return _user(row) if row else None

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        async with self._pool.acquire() as conn:
            await append_audit(conn, entries)

    async def record_login(
        self, user_id: UUID, new_hash: str | None, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE users SET last_login_at = now(), "
                "password_hash = coalesce($2, password_hash) WHERE id = $1",
                user_id,
                new_hash,
            )
            await _insert_refresh(conn, user_id, refresh)
            await append_audit(conn, audit)

    async def rotate_refresh(
        self, token_hash: str, new: NewRefreshToken, on_reuse: ReuseAudit
    ) -> RotateOutcome:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT id, user_id, family_id, expires_at <= now() AS expired, rotated_at, "
                "revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                token_hash,
            )
            if row is None or row["revoked_at"] is not None:
                return None
            if row["rotated_at"] is not None:
                await conn.execute(
                    "UPDATE refresh_tokens SET revoked_at = now() "
                    "WHERE family_id = $1 AND revoked_at IS NULL",
                    row["family_id"],
                )
                await conn.execute(
                    "UPDATE users SET token_version = token_version + 1, updated_at = now() "
                    "WHERE id = $1",
                    row["user_id"],
                )
                await append_audit(conn, on_reuse(row["user_id"], row["family_id"]))
                return ReusedOutcome(row["user_id"], row["family_id"])
            if row["expired"]:
                return None
            user_row = await conn.fetchrow(f"{_SELECT_USER} WHERE u.id = $1", row["user_id"])
            if user_row is None or not user_row["is_active"]:
                return None
            if not user_row["department_active"]:
                return DepartmentBlocked(row["user_id"])
            await conn.execute(
                "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1", row["id"]
            )
            await _insert_refresh(
                conn,
                row["user_id"],
                NewRefreshToken(
                    token_hash=new.token_hash,
                    family_id=row["family_id"],
                    expires_at=new.expires_at,
                    client_ip=new.client_ip,
                    user_agent=new.user_agent,
                ),
            )
            return Rotated(_user(user_row))

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await revoke_user_sessions(conn, user_id)
            await append_audit(conn, audit)

    async def create_reset_token(
        self, user_id: UUID, token_hash: str, expires_at: datetime, audit: list[AuditEntry]
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE password_reset_tokens SET used_at = now() "
                "WHERE user_id = $1 AND used_at IS NULL",
                user_id,
            )
            await conn.execute(
                "INSERT INTO password_reset_tokens (user_id, token_hash, expires_at) "
                "VALUES ($1, $2, $3)",
                user_id,
                token_hash,
                expires_at,
            )
            await append_audit(conn, audit)

    async def reset_token_usable(self, token_hash: str) -> bool:
        usable = await self._pool.fetchval(
            "SELECT true FROM password_reset_tokens t JOIN users u ON u.id = t.user_id "
            "WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() "
            "AND u.is_active",
            token_hash,
        )
        return bool(usable)

    async def consume_reset_token(
        self, token_hash: str, new_hash: str, audit: Callable[[UUID], list[AuditEntry]]
    ) -> UUID | None:
        async with self._pool.acquire() as conn, conn.transaction():
            user_id: UUID | None = await conn.fetchval(
                "UPDATE password_reset_tokens t SET used_at = now() FROM users u "
                "WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.expires_at > now() "
                "AND u.id = t.user_id AND u.is_active RETURNING t.user_id",
                token_hash,
            )
            if user_id is None:
                return None
            await conn.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash
            )
            await revoke_user_sessions(conn, user_id)
            await append_audit(conn, audit(user_id))
            return user_id

    async def set_password(
        self, user_id: UUID, new_hash: str, refresh: NewRefreshToken, audit: list[AuditEntry]
    ) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash
            )
            version = await revoke_user_sessions(conn, user_id)
            await _insert_refresh(conn, user_id, refresh)
            await append_audit(conn, audit)
            return version
