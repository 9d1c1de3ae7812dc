"""Finding the user a command-line operator acts as (``--as EMAIL``)."""

from __future__ import annotations

import asyncpg
import msgspec

from govflow.core.roles import Role
from govflow.usecases.audit import Actor

_BY_EMAIL = """
SELECT id, email, role, department_id, is_active FROM users WHERE lower(email) = lower($1)
"""


class ActingUser(msgspec.Struct, frozen=True, kw_only=True):
    """A user found by email, and whether the account is active."""

    actor: Actor
    is_active: bool


async def user_by_email(pool: asyncpg.Pool, email: str) -> ActingUser | None:
    """The user with this email (compared case-insensitively), as an audit actor."""
    row = await pool.fetchrow(_BY_EMAIL, email)
    if row is None:
        return None
    actor = Actor(
        user_id=row["id"],
        email=row["email"],
        role=Role(row["role"]),
        department_id=row["department_id"],
        name=row["email"],
    )
    return ActingUser(actor=actor, is_active=row["is_active"])
