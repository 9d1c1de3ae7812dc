"""The roles a user holds: what the API lets them do, and who a human task is for.

Values are the upper-case names, stored as-is in ``users.role`` and in the role columns of
``human_tasks``; migration ``0010_status_checks.sql`` keeps those columns to these values (a
test compares the CHECK constraints with this enum).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class Role(StrEnum):
    """A user's role; every user has exactly one."""

    ADMIN = "ADMIN"
    """Everything, in every department; the only role that administers users and departments."""
    MANAGER = "MANAGER"
    """Workflows, executions, operator actions and the audit log of their own department."""
    OPERATOR = "OPERATOR"
    """Starts executions of their own department's workflows and works on human tasks."""

    MANAGERS: ClassVar[frozenset[Role]]
    """Roles that manage workflows and executions (within their department, but ADMIN)."""


Role.MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
