"""Reading workflow definitions for the API (lists, detail, versions, steps) and switching a
workflow on or off. Every query is restricted to a department scope (``None``: every one)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db import like
from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.workflows import PgWorkflowStore
from govflow.usecases.audit import AuditEntry
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.workflow_views import (
    WorkflowDetail,
    WorkflowFilter,
    WorkflowStepView,
    WorkflowVersionDetail,
    WorkflowVersionView,
    WorkflowView,
)

_VIEW_COLUMNS = """
w.id, w.name, w.title, w.description, w.department_id, d.code AS department, w.is_active,
v.version AS current_version, v.content_hash, w.created_at, w.updated_at
"""
_FROM = """
  FROM workflows w
  LEFT JOIN departments d ON d.id = w.department_id
  LEFT JOIN workflow_versions v ON v.id = w.current_version_id
"""
_WHERE = """
 WHERE ($1::uuid IS NULL OR w.department_id = $1)
   AND ($2::bool IS NULL OR w.is_active = $2)
   AND ($3::uuid IS NULL OR w.department_id = $3)
   AND ($4::text IS NULL OR w.name ILIKE $4 ESCAPE '\\' OR w.title ILIKE $4 ESCAPE '\\')
"""
_LIST = f"""
SELECT {_VIEW_COLUMNS}, count(*) OVER () AS total {_FROM} {_WHERE}
 ORDER BY w.name LIMIT $5 OFFSET $6
"""
_COUNT = f"SELECT count(*) {_FROM} {_WHERE}"
_ONE = f"""
SELECT {_VIEW_COLUMNS}, w.current_version_id {_FROM}
 WHERE w.id = $1 AND ($2::uuid IS NULL OR w.department_id = $2)
"""
_VERSIONS = """
SELECT version, content_hash, source_path, created_by, created_at
  FROM workflow_versions WHERE workflow_id = $1 ORDER BY version DESC
"""
_STEPS = """
SELECT position, step_key, action, config::text AS config
  FROM workflow_steps WHERE workflow_version_id = $1 ORDER BY position
"""
_VERSION = """
SELECT v.id, v.version, v.content_hash, v.source_path, v.created_by, v.created_at,
       v.spec::text AS spec, v.source
  FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id
 WHERE v.workflow_id = $1 AND v.version = $2 AND ($3::uuid IS NULL OR w.department_id = $3)
"""
_OWNER_OF_NAME = "SELECT department_id FROM workflows WHERE name = $1"
_DEPARTMENT_CODE = "SELECT code FROM departments WHERE id = $1"


def _view(row: asyncpg.Record) -> WorkflowView:
    return WorkflowView(
        id=row["id"],
        name=row["name"],
        title=row["title"],
        description=row["description"],
        department_id=row["department_id"],
        department=row["department"],
        is_active=row["is_active"],
        current_version=row["current_version"],
        content_hash=row["content_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _step(row: asyncpg.Record) -> WorkflowStepView:
    config: dict[str, Any] = msgspec.json.decode(row["config"])
    return WorkflowStepView(
        position=row["position"], step_key=row["step_key"], action=row["action"], config=config
    )


async def list_workflows(
    conn: asyncpg.Connection, where: WorkflowFilter, page: PageRequest, scope: UUID | None
) -> Page[WorkflowView]:
    """One page of workflows by name; ``where.name`` is found literally in a name or title."""
    name = like.contains(where.name) if where.name is not None else None
    args = (scope, where.active, where.department_id, name)
    rows = await conn.fetch(_LIST, *args, page.limit, page.offset)
    total = rows[0]["total"] if rows else int(await conn.fetchval(_COUNT, *args))
    return Page(items=[_view(row) for row in rows], total=total, request=page)


async def workflow_detail(
    conn: asyncpg.Connection, workflow_id: UUID, scope: UUID | None
) -> WorkflowDetail | None:
    """The workflow, its versions (newest first) and its current version's steps."""
    row = await conn.fetchrow(_ONE, workflow_id, scope)
    if row is None:
        return None
    versions = [WorkflowVersionView(**dict(v)) for v in await conn.fetch(_VERSIONS, workflow_id)]
    steps = []
    if row["current_version_id"] is not None:
        steps = [_step(s) for s in await conn.fetch(_STEPS, row["current_version_id"])]
    return WorkflowDetail(workflow=_view(row), versions=versions, steps=steps)


async def workflow_version(
    conn: asyncpg.Connection, workflow_id: UUID, version: int, scope: UUID | None
) -> WorkflowVersionDetail | None:
    """One version of the workflow: its normalised spec, its YAML source and its steps."""
    row = await conn.fetchrow(_VERSION, workflow_id, version, scope)
    if row is None:
        return None
    steps = [_step(s) for s in await conn.fetch(_STEPS, row["id"])]
    return WorkflowVersionDetail(
        version=row["version"],
        content_hash=row["content_hash"],
        source_path=row["source_path"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        spec=msgspec.json.decode(row["spec"]),
        source=row["source"],
        steps=steps,
    )


async def set_active(
    conn: asyncpg.Connection,
    workflow_id: UUID,
    active: bool,
    scope: UUID | None,
    audit: AuditEntry,
) -> bool | None:
    """Switch the workflow on or off and audit it when it changed, in one transaction.

    :returns: whether the flag changed; ``None`` when the workflow is not in the scope.
    """
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT is_active, department_id FROM workflows "
            "WHERE id = $1 AND ($2::uuid IS NULL OR department_id = $2) FOR UPDATE",
            workflow_id,
            scope,
        )
        if row is None:
            return None
        if row["is_active"] == active:
            return False
        await conn.execute(
            "UPDATE workflows SET is_active = $2, updated_at = now() WHERE id = $1",
            workflow_id,
            active,
        )
        entry = msgspec.structs.replace(audit, department_id=row["department_id"])
        await append_audit(conn, [entry])
    return True


async def owner_of_name(conn: asyncpg.Connection, name: str) -> tuple[bool, UUID | None]:
    """Whether a workflow called ``name`` exists, and its department."""
    row = await conn.fetchrow(_OWNER_OF_NAME, name)
    return (row is not None, row["department_id"] if row is not None else None)


async def department_code(conn: asyncpg.Connection, department_id: UUID) -> str | None:
    """The code of a department (``None`` if there is no such department)."""
    code: str | None = await conn.fetchval(_DEPARTMENT_CODE, department_id)
    return code


class PgWorkflowAdmin:
    """The ``WorkflowAdminStore`` port over the pool (one connection per call)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def search(
        self, where: WorkflowFilter, page: PageRequest, scope: UUID | None
    ) -> Page[WorkflowView]:
        async with self._pool.acquire() as conn:
            return await list_workflows(conn, where, page, scope)

    async def detail(self, workflow_id: UUID, scope: UUID | None) -> WorkflowDetail | None:
        async with self._pool.acquire() as conn:
            return await workflow_detail(conn, workflow_id, scope)

    async def version(
        self, workflow_id: UUID, version: int, scope: UUID | None
    ) -> WorkflowVersionDetail | None:
        async with self._pool.acquire() as conn:
            return await workflow_version(conn, workflow_id, version, scope)

    async def set_active(
        self, workflow_id: UUID, active: bool, scope: UUID | None, audit: AuditEntry
    ) -> bool | None:
        async with self._pool.acquire() as conn:
            return await set_active(conn, workflow_id, active, scope, audit)

    async def owner_of_name(self, name: str) -> tuple[bool, UUID | None]:
        async with self._pool.acquire() as conn:
            return await owner_of_name(conn, name)

    async def department_code(self, department_id: UUID) -> str | None:
        async with self._pool.acquire() as conn:
            return await department_code(conn, department_id)

    @contextlib.asynccontextmanager
    async def definitions(self) -> AsyncIterator[PgWorkflowStore]:
        """The workflow store over one connection held for the block."""
        async with self._pool.acquire() as conn:
            yield PgWorkflowStore(conn)
