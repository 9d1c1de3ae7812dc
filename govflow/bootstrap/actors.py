"""Who a command acts as: the CLI itself, or the user an operator names with ``--as EMAIL``.

``govflow.cli`` takes this from here, never from :mod:`govflow.adapters`.

The CLI is an operator's tool on the server: ``--as EMAIL`` needs no password. A command run
``--as`` a user acts with that user's rights (role, department, the task lifecycle's rules) and
is audited as that user.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from govflow.adapters.db.actors import ActingUser, display_names, user_by_email
from govflow.adapters.db.directory import PgDirectory
from govflow.bootstrap.database import CLI_ACTOR
from govflow.bootstrap.graph import Container
from govflow.core.roles import Role
from govflow.usecases.audit import Actor
from govflow.usecases.department_status import ensure_department_active
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.principal import Principal

__all__ = [
    "CLI_ACTOR",
    "CLI_READER",
    "acting_as",
    "acting_principal",
    "department_named",
    "names_of",
]

CLI_READER = Principal(
    user_id=UUID(int=0), email="govflow-cli", role=Role.ADMIN, department_id=None
)
"""The CLI reading without ``--as``: every department, as ``executions show`` reads. It is no
user: it never acts, and lists that mean "mine" need ``--as``."""


async def _active_user(services: Container, email: str, option: str) -> ActingUser:
    found = await user_by_email(services.db.pool, email)
    if found is None:
        raise InvalidInputError([(option, f"no user {email!r}")])
    if not found.is_active:
        raise InvalidInputError([(option, f"user {email!r} is disabled")])
    return found


async def acting_as(services: Container, email: str | None, option: str = "--as") -> Actor:
    """The actor for ``--as EMAIL``: that user, who must exist and be active; without an email,
    :data:`CLI_ACTOR` (no user: ``created_by`` stays empty).

    :raises InvalidInputError: on ``option``, for an unknown or disabled user.
    """
    if email is None:
        return CLI_ACTOR
    return (await _active_user(services, email, option)).actor


async def acting_principal(services: Container, email: str, option: str = "--as") -> Principal:
    """The user ``--as EMAIL`` names, as the API sees them signed in: active, in an active
    department (or none).

    :raises InvalidInputError: on ``option``, for an unknown or disabled user.
    :raises DepartmentInactiveError: the user's department is inactive.
    """
    found = await _active_user(services, email, option)
    await ensure_department_active(services.departments, found.actor.department_id)
    return Principal(
        user_id=found.user_id,
        email=found.email,
        role=found.role,
        department_id=found.actor.department_id,
    )


async def names_of(services: Container, ids: Iterable[UUID | None]) -> dict[UUID, str]:
    """Users' emails and departments' codes by id, for printing (unknown ids left out)."""
    wanted = {value for value in ids if value is not None}
    return await display_names(services.db.pool, wanted, wanted)


async def department_named(services: Container, code: str, option: str) -> UUID:
    """The id of the department with ``code``.

    :raises InvalidInputError: on ``option``, for an unknown code.
    """
    found = await PgDirectory(services.db).departments([code])
    if code not in found:
        raise InvalidInputError([(option, f"no department {code!r}")])
    return found[code]
