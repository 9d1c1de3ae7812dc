"""The directory port the host offers built-in actions in ``ActionContext.extras``: users by
email and departments by code, as ids.

The ``manual`` action resolves the people a task names through it when the task is opened; the
host puts an implementation under :data:`DIRECTORY` (an action run without one, as by the test
kit, can name roles only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol
from uuid import UUID

from govflow.core.roles import Role

DIRECTORY = "directory"
"""The key of the directory in ``ActionContext.extras``."""


class Directory(Protocol):
    """Users and departments, looked up by the names workflow authors write."""

    async def active_users(self, emails: Sequence[str]) -> Mapping[str, UUID]:
        """The ids of the active users among ``emails``, keyed by the lower-cased email (an
        unknown or inactive user is absent)."""
        ...

    async def departments(self, codes: Sequence[str]) -> Mapping[str, UUID]:
        """The ids of the departments among ``codes``, keyed by code (an unknown one is
        absent)."""
        ...

    async def emails(
        self, *, role: Role | None = None, department: UUID | None = None, limit: int = 50
    ) -> Sequence[str]:
        """The addresses of the active users with ``role`` and in ``department`` (both must
        match when both are given; at least one is), at most ``limit``, in address order."""
        ...
