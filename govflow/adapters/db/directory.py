"""The ``Directory`` port the ``manual`` action resolves a task's people through: active users
by email (matched case-insensitively, as logins are) and departments by code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import asyncpg
from piccolo.columns.combination import WhereRaw

from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import Department, User


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

    async def departments(self, codes: Sequence[str]) -> Mapping[str, UUID]:
        rows = await self._db.run(
            Department.select(Department.id, Department.code).where(
                Department.code.is_in(list(codes))
            )
        )
        return {row["code"]: row["id"] for row in rows}


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
