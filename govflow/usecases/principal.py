"""Who is calling: the authenticated user as every use case sees it, and department scoping."""

from __future__ import annotations

from uuid import UUID

import msgspec

from govflow.core.roles import Role
from govflow.usecases.audit import Actor

__all__ = ["NO_DEPARTMENT", "Principal", "Role", "scope_department"]

NO_DEPARTMENT = UUID(int=0)
"""The scope of a non-admin without a department: an id no department has, so it matches nothing."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated, active user whose token is current."""

    user_id: UUID
    email: str
    role: Role
    department_id: UUID | None
    request_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def actor(self) -> Actor:
        """The principal as an audit actor."""
        return Actor(
            user_id=self.user_id,
            email=self.email,
            role=self.role,
            department_id=self.department_id,
            name=self.email,
        )


def scope_department(principal: Principal) -> UUID | None:
    """The department a query must be restricted to; ``None`` means every department (ADMIN).

    Use it in SQL as ``WHERE ($n::uuid IS NULL OR department_id = $n)``. A non-admin without a
    department gets :data:`NO_DEPARTMENT`, which matches no row.
    """
    if principal.is_admin:
        return None
    return principal.department_id or NO_DEPARTMENT
