"""Audited access denials, counted per window instead of one audit row per request.

A denied request (403, a 404 answered to a department-scoped caller, a 401 for a presented
token) is counted under (user, route, status) in the window of :attr:`DenialAudit.window_seconds`
it happened in. Once a window has closed, :meth:`DenialAudit.flush` turns each count into one
``ACCESS_DENIED`` audit entry whose metadata carries the count and the window. The counter is
shared by every API worker (Redis in production), so the number of rows is bounded by users x
routes x windows, whatever the number of requests; a request without any credentials is never
counted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.usecases.audit import Actor, AuditEntry


class Denial(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One refused request, reduced to what it is counted under."""

    status: int
    operation: str
    """The route's ``operation_id`` (at most 64 characters, stored as the entity id)."""
    method: str
    path: str
    """The route's path template, never the raw path (no ids, bounded cardinality)."""
    user_id: UUID | None = None
    department_id: UUID | None = None
    email: str | None = None


class DenialCount(msgspec.Struct, frozen=True, kw_only=True):
    """How often ``denial`` happened in window number ``window``."""

    window: int
    denial: Denial
    count: int


class DenialCounter(Protocol):
    """Counts denials per window; shared by every API worker."""

    async def add(self, window: int, denial: Denial) -> None: ...

    async def take(self, up_to_window: int) -> list[DenialCount]:
        """Remove and return the counts of every window up to ``up_to_window`` (atomically per
        window: each count is returned to exactly one caller)."""
        ...


class AuditAppender(Protocol):
    """Appends audit entries in a transaction of their own."""

    async def append_audit(self, entries: list[AuditEntry]) -> None: ...


class DenialAudit:
    """Counts denials and writes the counts of closed windows as audit entries."""

    def __init__(
        self, counter: DenialCounter, audit: AuditAppender, *, window_seconds: int
    ) -> None:
        if window_seconds < 1:
            raise ValueError("window_seconds must be at least 1")
        self._counter = counter
        self._audit = audit
        self.window_seconds = window_seconds

    def window_of(self, now: datetime) -> int:
        return int(now.timestamp()) // self.window_seconds

    async def record(self, denial: Denial, now: datetime) -> None:
        await self._counter.add(self.window_of(now), denial)

    async def flush(self, now: datetime, *, include_current: bool = False) -> int:
        """Write the closed windows' counts (and the current one's when ``include_current``,
        at shutdown); returns the number of audit entries written."""
        current = self.window_of(now)
        counts = await self._counter.take(current if include_current else current - 1)
        entries = [self.entry(count) for count in counts]
        if entries:
            await self._audit.append_audit(entries)
        return len(entries)

    def entry(self, counted: DenialCount) -> AuditEntry:
        denial = counted.denial
        start = datetime.fromtimestamp(counted.window * self.window_seconds, UTC)
        end = datetime.fromtimestamp((counted.window + 1) * self.window_seconds, UTC)
        actor = Actor(
            user_id=denial.user_id,
            email=denial.email,
            department_id=denial.department_id,
            name=denial.email or ("unknown token" if denial.user_id is None else "user"),
        )
        return AuditEntry(
            action=AuditEvent.ACCESS_DENIED,
            actor=actor,
            entity_type="route",
            entity_id=denial.operation[:64],
            department_id=denial.department_id,
            reason=f"{denial.status} answered {counted.count} time(s) to {denial.method} "
            f"{denial.path}",
            metadata={
                "status": denial.status,
                "count": counted.count,
                "method": denial.method,
                "path": denial.path,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
            },
        )
