"""The directory the host offers plugins at startup (``PluginHost.directory``): users by
email and departments by code, as ids.

The ``manual`` action resolves the people a task names through it when the task is opened; its
``govflow_startup`` keeps the host's directory as its resources (a host without one, as the test
kit by default, lets it name roles only); the ``notification`` action finds the addresses of an
email's recipients named by role and/or department through it when the step runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol
from uuid import UUID

from govflow.core.roles import Role


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
