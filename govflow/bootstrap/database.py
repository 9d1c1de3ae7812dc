"""The database's life for the operator: migrate it, give the processes their role, seed it, and
create a user from the command line.

``govflow.cli`` takes these from here, never from :mod:`govflow.adapters`.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg

from govflow.adapters.db.departments import PgDepartmentStore
from govflow.adapters.db.directory import department_codes_at, directory_at
from govflow.adapters.db.migrations import MigrationError, migrate_database
from govflow.adapters.db.roles import embedded_app_url, url_user
from govflow.adapters.db.seed import (
    DemoCredential,
    read_demo_credentials,
    seed_demo_users,
    seed_departments,
)
from govflow.adapters.db.users import PgUserStore
from govflow.adapters.security.passwords import Passwords
from govflow.adapters.services import resolve_service_urls
from govflow.bootstrap.graph import container
from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.settings import Settings
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.users import NewUser

__all__ = [
    "DemoCredential",
    "DepartmentsUnreadable",
    "MigrationError",
    "UserRefused",
    "apply_migrations",
    "create_user",
    "department_codes",
    "embedded_app_url",
    "known_directory",
    "read_demo_credentials",
    "seed",
]

CLI_ACTOR = Actor(name="cli")
"""Who the audit log names for what an operator does with the command line."""


class UserRefused(Exception):
    """The user cannot be created; the message names the option and the reason."""


class DepartmentsUnreadable(Exception):
    """The configured database could not be asked for its departments."""


async def department_codes(settings: Settings, timeout: float = 5.0) -> set[str] | None:
    """The department codes of the database ``DATABASE_URL`` names (``None`` when it names
    none: embedded servers are not started for a read).

    :raises DepartmentsUnreadable: the database cannot be reached or read.
    """
    if not settings.database_url:
        return None
    try:
        return await department_codes_at(settings.database_url, timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise DepartmentsUnreadable(str(exc) or type(exc).__name__) from exc


async def known_directory(
    settings: Settings, emails: Sequence[str], timeout: float = 5.0
) -> tuple[set[str], set[str]] | None:
    """(the department codes, which of ``emails`` an active user has, lowercased) of the
    database ``DATABASE_URL`` names; ``None`` when it names none.

    :raises DepartmentsUnreadable: the database cannot be reached or read.
    """
    if not settings.database_url:
        return None
    try:
        return await directory_at(settings.database_url, emails, timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise DepartmentsUnreadable(str(exc) or type(exc).__name__) from exc


async def apply_migrations(settings: Settings) -> list[str]:
    """Migrate as the owner (``MIGRATION_DATABASE_URL``, else ``DATABASE_URL``'s user).

    :raises MigrationError: a migration failed or an applied one was changed.
    """
    url = settings.database_url or resolve_service_urls(settings).database_url
    if settings.migration_database_url:
        return await migrate_database(settings.migration_database_url, app_login=url_user(url))
    return await migrate_database(url)


async def seed(settings: Settings) -> list[DemoCredential]:
    """Create the departments and, in development mode, one demo user per role (idempotent);
    the demo users' credentials."""
    async with container(settings) as c, c.db.transaction() as conn:
        await seed_departments(conn)
        if not settings.is_development:
            return []
        return await seed_demo_users(conn, settings.home, Passwords())


async def create_user(
    settings: Settings,
    *,
    email: str,
    role: Role,
    department: str | None,
    password: str,
    full_name: str,
) -> UUID:
    """Create a user in the department with code ``department``, audited ``USER_CREATED`` by
    the command line, as the users API stores one.

    :raises UserRefused: no such department, or the email is in use.
    """
    async with container(settings) as services:
        department_id = None
        if department:
            department_id = await PgDepartmentStore(services.db).id_of(department)
            if department_id is None:
                raise UserRefused(f"--department: no department with code {department!r}")
        user_id = uuid4()
        audit = AuditEntry(
            action=AuditEvent.USER_CREATED,
            actor=CLI_ACTOR,
            entity_type="user",
            entity_id=str(user_id),
            reason="created with govflow users create",
            metadata={"email": email, "role": role.value, "department_id": _text(department_id)},
        )
        new = NewUser(
            email=email,
            full_name=full_name,
            password=password,
            role=role,
            department_id=department_id,
        )
        try:
            await PgUserStore(services.db).create(
                user_id, new, await Passwords().hash(password), [audit]
            )
        except FieldConflictError:
            raise UserRefused(f"--email: a user with email {email!r} exists already") from None
    return user_id


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)
