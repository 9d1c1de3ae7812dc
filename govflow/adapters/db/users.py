"""The ``UserStore`` port over PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.tokens import revoke_user_sessions
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Role
from govflow.usecases.users import NewUser, UserFilter, UserView

_COLUMNS = (
    "id, email, full_name, role, department_id, is_active, last_login_at, created_at, updated_at"
)
_FILTER = (
    "($1::text IS NULL OR role = $1) AND ($2::uuid IS NULL OR department_id = $2) "
    "AND ($3::boolean IS NULL OR is_active = $3)"
)
_UPDATABLE = ("role", "department_id", "full_name")


def _view(row: asyncpg.Record) -> UserView:
    return UserView(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        department_id=row["department_id"],
        is_active=row["is_active"],
        last_login_at=row["last_login_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _unknown_department() -> InvalidInputError:
    return InvalidInputError([("body.department_id", "no such department")])


class PgUserStore:
    """Users in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def search(self, where: UserFilter, page: PageRequest) -> tuple[list[UserView], int]:
        args = (where.role.value if where.role else None, where.department_id, where.is_active)
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM users WHERE {_FILTER} "
                "ORDER BY created_at, id LIMIT $4 OFFSET $5",
                *args,
                page.limit,
                page.offset,
            )
            total = (
                rows[0]["total"]
                if rows
                else await conn.fetchval(f"SELECT count(*) FROM users WHERE {_FILTER}", *args)
            )
        return [_view(row) for row in rows], int(total)

    async def get(self, user_id: UUID) -> UserView | None:
        row = await self._pool.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
        return _view(row) if row else None

    async def create(
        self, user_id: UUID, user: NewUser, password_hash: str, audit: list[AuditEntry]
    ) -> UserView:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    "INSERT INTO users (id, email, full_name, password_hash, role, department_id) "
                    f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
                    user_id,
                    user.email,
                    user.full_name,
                    password_hash,
                    user.role.value,
                    user.department_id,
                )
                await append_audit(conn, [_with_department(e, user.department_id) for e in audit])
        except asyncpg.UniqueViolationError:
            raise FieldConflictError(
                "A user with this email exists already", "body.email", "already in use"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_department() from None
        return _view(row)

    async def update(
        self, user_id: UUID, changes: dict[str, Any], revoke: bool, audit: list[AuditEntry]
    ) -> UserView | None:
        names = [name for name in _UPDATABLE if name in changes]
        values = [
            changes[name].value if isinstance(changes[name], Role) else changes[name]
            for name in names
        ]
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=2))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    f"UPDATE users SET {assignments}, updated_at = now() WHERE id = $1 "
                    f"RETURNING {_COLUMNS}",
                    user_id,
                    *values,
                )
                if row is None:
                    return None
                if revoke:
                    await revoke_user_sessions(conn, user_id)
                await append_audit(conn, [_with_department(e, row["department_id"]) for e in audit])
        except asyncpg.ForeignKeyViolationError:
            raise _unknown_department() from None
        return _view(row)

    async def set_active(
        self, user_id: UUID, active: bool, audit: list[AuditEntry]
    ) -> UserView | None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"UPDATE users SET is_active = $2, updated_at = now() WHERE id = $1 "
                f"RETURNING {_COLUMNS}",
                user_id,
                active,
            )
            if row is None:
                return None
            if not active:
                await revoke_user_sessions(conn, user_id)
            await append_audit(conn, [_with_department(e, row["department_id"]) for e in audit])
            return _view(row)

    async def revoke_sessions(self, user_id: UUID, audit: list[AuditEntry]) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            department = await conn.fetchrow(
                "SELECT department_id FROM users WHERE id = $1 FOR UPDATE", user_id
            )
            if department is None:
                return False
            await revoke_user_sessions(conn, user_id)
            await append_audit(
                conn, [_with_department(e, department["department_id"]) for e in audit]
            )
            return True


def _with_department(entry: AuditEntry, department_id: UUID | None) -> AuditEntry:
    """The entry filed under the user's department, so that department's managers see it."""
    return msgspec.structs.replace(entry, department_id=department_id)
