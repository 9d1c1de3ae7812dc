"""Reading the audit log (ADMIN everything, MANAGER their department) and manual entries.

Manual entries live in a namespace of their own: their action starts with ``MANUAL_``
(:data:`MANUAL_PREFIX`), a prefix GovFlow never writes, and their metadata carries
``manual: true``. Any other name (``LOGIN_SUCCESS``, ``WORKFLOW_EXECUTION_CREATED``, ...) is
reserved for the entries the system writes, so an ADMIN cannot forge one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.usecases.audit import AuditEntry
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.principal import Principal, scope_department

MANUAL_PREFIX = "MANUAL_"
"""The prefix of every manual entry's action; no entry the system writes uses it."""


def manual_action_problem(action: str) -> str | None:
    """Why ``action`` cannot name a manual entry, or ``None`` when it can."""
    if not action.startswith(MANUAL_PREFIX) or len(action) == len(MANUAL_PREFIX):
        return (
            f"manual entries are named {MANUAL_PREFIX}<NAME>; "
            "other names are reserved for the entries GovFlow writes"
        )
    return None


class AuditLogView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    occurred_at: datetime
    action: str
    actor_id: UUID | None
    actor_email: str | None
    entity_type: str | None
    entity_id: str | None
    department_id: UUID | None
    request_id: str | None
    reason: str | None
    metadata: dict[str, Any]


class AuditLogFilter(msgspec.Struct, frozen=True, kw_only=True):
    action: str | None = None
    actor_id: UUID | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


class ManualEntry(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    entity_type: str
    entity_id: str
    reason: str
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    department_id: UUID | None = None


class AuditLogStore(Protocol):
    async def search(
        self, where: AuditLogFilter, scope: UUID | None, page: PageRequest
    ) -> tuple[list[AuditLogView], int]: ...

    async def add(self, entry: AuditEntry) -> AuditLogView: ...


class AuditLogs:
    """The audit-log use cases; the log itself is append-only."""

    def __init__(self, store: AuditLogStore) -> None:
        self._store = store

    async def search(
        self, principal: Principal, where: AuditLogFilter, page: PageRequest
    ) -> Page[AuditLogView]:
        if where.occurred_from and where.occurred_to and where.occurred_from > where.occurred_to:
            raise InvalidInputError([("query.from", "must not be after query.to")])
        items, total = await self._store.search(where, scope_department(principal), page)
        return Page(items, total, page)

    async def add(self, principal: Principal, entry: ManualEntry) -> AuditLogView:
        """Record a manual entry, flagged ``manual`` whatever its metadata says.

        :raises InvalidInputError: the action is outside the manual namespace (``body.action``).
        """
        problem = manual_action_problem(entry.action)
        if problem is not None:
            raise InvalidInputError([("body.action", problem)])
        return await self._store.add(
            AuditEntry(
                action=entry.action,
                actor=principal.actor(),
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                department_id=entry.department_id,
                request_id=principal.request_id,
                reason=entry.reason,
                metadata={**entry.metadata, "manual": True},
            )
        )
