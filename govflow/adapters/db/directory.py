"""The ``Directory`` port the ``manual`` action resolves a task's people through: active users
by email (matched case-insensitively, as logins are) and departments by code; and the
``notification`` action an email's recipients named by role and/or department."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg
from piccolo.columns.combination import WhereRaw

from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import Department, User
from govflow.core.roles import Role


class PgDirectory:
    """The directory of users and departments."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def active_users(self, emails: Sequence[str]) -> Mapping[str, UUID]:
        wanted = [email.lower() for email in emails]
        rows = await self._db.run(
            User.select(User.id, User.email).where(
                WhereRaw("lower(email) = ANY({}::text[])", wanted), User.is_active.eq(True)
            )
        )
        return {str(row["email"]).lower(): row["id"] for row in rows}

    async def emails(
        self, *, role: Role | None = None, department: UUID | None = None, limit: int = 50
    ) -> Sequence[str]:
        if role is None and department is None:
            raise ValueError("name a role, a department or both")
        query = User.select(User.email).where(User.is_active.eq(True))
        if role is not None:
            query = query.where(User.role == role.value)
        if department is not None:
            query = query.where(User.department_id == department)
        rows = await self._db.run(query.order_by(User.email).limit(limit))
        return [str(row["email"]) for row in rows]

    async def departments(self, codes: Sequence[str]) -> Mapping[str, UUID]:
        rows = await self._db.run(
            Department.select(Department.id, Department.code).where(
                Department.code.is_in(list(codes))
            )
        )
        return {row["code"]: row["id"] for row in rows}


async def directory_at(
    url: str, emails: Sequence[str], timeout: float
) -> tuple[set[str], set[str]]:
    """(every department code, the ``emails`` an active user has, lowercased) of the database at
    ``url``, on one short connection.

    :raises OSError, TimeoutError, asyncpg.PostgresError: the database cannot be asked.
    """
    wanted = sorted({email.lower() for email in emails})
    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        codes = await conn.fetch("SELECT code FROM departments", timeout=timeout)
        users = (
            await conn.fetch(
                "SELECT lower(email) AS email FROM users"
                " WHERE is_active AND lower(email) = ANY($1::text[])",
                wanted,
                timeout=timeout,
            )
            if wanted
            else []
        )
    finally:
        await conn.close()
    return {str(row["code"]) for row in codes}, {str(row["email"]) for row in users}


async def department_codes_at(url: str, timeout: float) -> set[str]:
    """The codes of the departments of the database at ``url``, on one short connection.

    :raises OSError, TimeoutError, asyncpg.PostgresError: the database cannot be asked.
    """
    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        rows = await conn.fetch("SELECT code FROM departments", timeout=timeout)
    finally:
        await conn.close()
    return {str(row["code"]) for row in rows}
