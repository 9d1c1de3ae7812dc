"""Users of the browser tests, with real (argon2) passwords, in the seeded departments."""

from __future__ import annotations

import asyncpg

from govflow.adapters.db.seed import seed_departments
from govflow.adapters.security.passwords import Passwords

PASSWORD = "Correct-Horse-9-battery"


async def add_people(database_url: str, *people: tuple[str, str, str]) -> None:
    """``(email, role, department code)`` each, all with :data:`PASSWORD`."""
    hashed = await Passwords().hash(PASSWORD)
    conn = await asyncpg.connect(database_url)
    try:
        await seed_departments(conn)
        for email, role, department in people:
            await conn.execute(
                "INSERT INTO users (email, full_name, password_hash, role, department_id) "
                "SELECT $1, $1, $2, $3, id FROM departments WHERE code = $4",
                email,
                hashed,
                role,
                department,
            )
    finally:
        await conn.close()
