"""``govflow users create``: how an operator creates the first admin in production."""

from __future__ import annotations

import click

from govflow.adapters.security.passwords import Passwords
from govflow.bootstrap import container
from govflow.cli.common import fail, run, settings_or_exit
from govflow.settings import Settings

ROLES = ("ADMIN", "MANAGER", "OPERATOR")


async def create_user(
    settings: Settings, email: str, role: str, department: str | None, password: str, name: str
) -> str:
    async with container(settings) as c, c.db.pool.acquire() as conn, conn.transaction():
        department_id = None
        if department:
            department_id = await conn.fetchval(
                "SELECT id FROM departments WHERE code = $1", department
            )
            if department_id is None:
                fail(f"--department: no department with code {department!r}")
        if await conn.fetchval("SELECT 1 FROM users WHERE lower(email) = lower($1)", email):
            fail(f"--email: a user with email {email!r} exists already")
        user_id = await conn.fetchval(
            """INSERT INTO users (email, full_name, password_hash, role, department_id)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            email,
            name,
            await Passwords().hash(password),
            role,
            department_id,
        )
        await conn.execute(
            """INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason)
               VALUES ('USER_CREATED', 'user', $1, $2, 'created with govflow users create')""",
            str(user_id),
            department_id,
        )
        return str(user_id)


@click.group("users")
def users() -> None:
    """Manage users from the command line."""


@users.command("create")
@click.option("--email", required=True, help="The user's email, used to log in.")
@click.option("--role", required=True, type=click.Choice(ROLES, case_sensitive=False))
@click.option("--department", default=None, help="Code of the user's department.")
@click.option("--name", default="", help="The user's full name.")
@click.password_option(
    "--password", prompt="Password", help="Read from the prompt, or from stdin when piped."
)
def create(email: str, role: str, department: str | None, name: str, password: str) -> None:
    """Create a user. The password is read from a prompt (or stdin), never from an argument."""
    from govflow.core.passwords import password_problems

    settings = settings_or_exit()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        fail(f"--email: {email!r} is not an email address")
    problems = password_problems(password)
    if problems:
        fail("password: " + "; ".join(problems))
    user_id = run(create_user(settings, email, role.upper(), department, password, name))
    click.echo(f"created user {email} ({role.upper()}) with id {user_id}")


command = users
