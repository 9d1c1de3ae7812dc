"""Finding the user a command-line operator acts as (``--as EMAIL``), and the names the CLI
prints for user and department ids."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.core.roles import Role
from govflow.usecases.audit import Actor

_BY_EMAIL = """
SELECT id, email, role, department_id, is_active FROM users WHERE lower(email) = lower($1)
"""


class ActingUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user found by email, and whether the account is active."""

    user_id: UUID
    email: str
    role: Role
    actor: Actor
    is_active: bool


async def user_by_email(pool: asyncpg.Pool, email: str) -> ActingUser | None:
    """The user with this email (compared case-insensitively), as an audit actor."""
    row = await pool.fetchrow(_BY_EMAIL, email)
    if row is None:
        return None
    role = Role(row["role"])
    actor = Actor(
        user_id=row["id"],
        email=row["email"],
        role=role,
        department_id=row["department_id"],
        name=row["email"],
    )
    return ActingUser(
        user_id=row["id"],
        email=row["email"],
        role=role,
        actor=actor,
        is_active=row["is_active"],
    )


_EMAILS = "SELECT id, email FROM users WHERE id = ANY($1::uuid[])"
_CODES = "SELECT id, code FROM departments WHERE id = ANY($1::uuid[])"


async def display_names(
    pool: asyncpg.Pool, user_ids: set[UUID], department_ids: set[UUID]
) -> dict[UUID, str]:
    """The email of each user and the code of each department named, by id (unknown ids are
    left out)."""
    names: dict[UUID, str] = {}
    if user_ids:
        names.update({row["id"]: row["email"] for row in await pool.fetch(_EMAILS, user_ids)})
    if department_ids:
        names.update({row["id"]: row["code"] for row in await pool.fetch(_CODES, department_ids)})
    return names
