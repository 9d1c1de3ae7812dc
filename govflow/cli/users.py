"""``govflow users create``: how an operator creates the first admin in production."""

from __future__ import annotations

import click

from govflow.bootstrap.database import UserRefused, create_user
from govflow.cli.common import fail, run, settings_or_exit
from govflow.core.roles import Role

ROLES = tuple(role.value for role in Role)


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
    try:
        user_id = run(
            create_user(
                settings,
                email=email,
                role=Role(role.upper()),
                department=department,
                password=password,
                full_name=name,
            )
        )
    except UserRefused as exc:
        fail(str(exc))
    click.echo(f"created user {email} ({role.upper()}) with id {user_id}")


command = users
