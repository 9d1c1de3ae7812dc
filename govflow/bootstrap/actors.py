"""Who a command acts as: the CLI itself, or the user an operator names with ``--as EMAIL``.

``govflow.cli`` takes this from here, never from :mod:`govflow.adapters`.
"""

from __future__ import annotations

from govflow.adapters.db.actors import user_by_email
from govflow.bootstrap.database import CLI_ACTOR
from govflow.bootstrap.graph import Container
from govflow.usecases.audit import Actor
from govflow.usecases.errors import InvalidInputError

__all__ = ["CLI_ACTOR", "acting_as"]


async def acting_as(services: Container, email: str | None) -> Actor:
    """The actor for ``--as EMAIL``: that user, who must exist and be active; without an email,
    :data:`CLI_ACTOR` (no user: ``created_by`` stays empty).

    :raises InvalidInputError: on ``--as``, for an unknown or disabled user.
    """
    if email is None:
        return CLI_ACTOR
    found = await user_by_email(services.db.pool, email)
    if found is None:
        raise InvalidInputError([("--as", f"no user {email!r}")])
    if not found.is_active:
        raise InvalidInputError([("--as", f"user {email!r} is disabled")])
    return found.actor
