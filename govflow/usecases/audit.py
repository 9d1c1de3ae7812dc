"""Audit entries: the value every use case records, and the port that stores them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who did something: a user, or GovFlow itself (``user_id`` None, ``name`` 'system')."""

    user_id: UUID | None = None
    email: str | None = None
    role: Role | None = None
    department_id: UUID | None = None
    name: str = "system"


SYSTEM = Actor()


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the audit log.

    :ivar action: a member of :class:`~govflow.core.audit_events.AuditEvent` for every entry
        GovFlow writes; a plugin's own event name, or ``MANUAL_<NAME>`` for a manual entry.
    """

    action: AuditEvent | str
    actor: Actor = SYSTEM
    entity_type: str | None = None
    entity_id: str | None = None
    department_id: UUID | None = None
    request_id: str | None = None
    reason: str | None = None
    metadata: Mapping[str, Any] = msgspec.field(default_factory=dict)


class AuditSink(Protocol):
    """Appends audit entries inside the caller's transaction."""

    async def append(self, entries: list[AuditEntry]) -> None: ...
