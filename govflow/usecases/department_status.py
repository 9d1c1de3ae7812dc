"""Inactive departments: their members cannot log in, refresh tokens, upload or start workflows.

A department an administrator deactivates keeps its data; its members are refused with 403
``FORBIDDEN`` naming ``department_id`` until it is active again. Users without a department are
not affected.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from govflow.usecases.access_errors import ForbiddenError

INACTIVE_MESSAGE = "Your department is inactive"


class DepartmentInactiveError(ForbiddenError):
    """Your department is inactive."""

    def __init__(self, message: str = INACTIVE_MESSAGE) -> None:
        super().__init__(message)
        self.problems = [("department_id", "the department is inactive")]


class DepartmentStatus(Protocol):
    async def is_active(self, department_id: UUID) -> bool:
        """``False`` for a deactivated department (and for one that does not exist)."""
        ...


async def ensure_department_active(status: DepartmentStatus, department_id: UUID | None) -> None:
    """Raise :class:`DepartmentInactiveError` when ``department_id`` names an inactive one."""
    if department_id is not None and not await status.is_active(department_id):
        raise DepartmentInactiveError()
