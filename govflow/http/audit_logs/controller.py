"""``/audit-logs`` endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from govflow.bootstrap.api import Api
from govflow.http.audit_logs.schemas import AuditLogCreateIn
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.idempotency import idempotent
from govflow.http.policy import roles
from govflow.usecases.audit_logs import AuditLogFilter, AuditLogView
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role

ShortText = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]


class AuditLogsController(Controller):
    path = "/audit-logs"
    tags = ["audit"]

    @get("/", operation_id="listAuditLogs", **roles(Role.ADMIN, Role.MANAGER))
    async def list_audit_logs(
        self,
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
        action: ShortText = None,
        actor_id: FromQuery[UUID | None] = None,
        entity_type: ShortText = None,
        entity_id: ShortText = None,
        occurred_from: Annotated[datetime | None, QueryParameter(name="from")] = None,
        occurred_to: Annotated[datetime | None, QueryParameter(name="to")] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[AuditLogView]:
        """Newest first; a MANAGER sees entries of their own department only."""
        where = AuditLogFilter(
            action=action,
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=entity_id,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
        )
        return paged(await api.audit_logs.search(principal, where, PageRequest(page, limit)))

    @idempotent
    @post("/", operation_id="createAuditLog", status_code=HTTP_201_CREATED, **roles(Role.ADMIN))
    async def create_audit_log(
        self,
        data: JSONBody[AuditLogCreateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[AuditLogView]:
        """Record a manual entry (with a reason); the log is append-only."""
        return ok(await api.audit_logs.add(principal, data.to_entry()), "Audit log created")
