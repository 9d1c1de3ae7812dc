"""Reading workflow definitions (lists, detail, versions, steps) and switching a workflow on or
off, with Piccolo's query builder. Every read is restricted to a department scope (``None``:
every one). The API and the CLI list workflows through :meth:`PgWorkflowAdmin.search`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import msgspec

from govflow.adapters.db import like
from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.crud import now, paged, views
from govflow.adapters.db.engine import Database
from govflow.adapters.db.tables import Department, Workflow, WorkflowStep, WorkflowVersion
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

_VIEW_COLUMNS = (
    Workflow.id,
    Workflow.name,
    Workflow.title,
    Workflow.description,
    Workflow.department_id,
    Workflow.department_id.code.as_alias("department"),
    Workflow.is_active,
    Workflow.current_version_id.version.as_alias("current_version"),
    Workflow.current_version_id.content_hash.as_alias("content_hash"),
    Workflow.created_at,
    Workflow.updated_at,
)
_VERSION_COLUMNS = (
    WorkflowVersion.version,
    WorkflowVersion.content_hash,
    WorkflowVersion.source_path,
    WorkflowVersion.created_by,
    WorkflowVersion.created_at,
)


def _in_scope(scope: UUID | None) -> list[Any]:
    return [] if scope is None else [Workflow.department_id == scope]


def _matching(where: WorkflowFilter, scope: UUID | None) -> list[Any]:
    conditions = _in_scope(scope)
    if where.active is not None:
        conditions.append(Workflow.is_active == where.active)
    if where.department_id is not None:
        conditions.append(Workflow.department_id == where.department_id)
    if where.name is not None:
        # like.contains escapes with a backslash, PostgreSQL's default LIKE escape character.
        pattern = like.contains(where.name)
        conditions.append(Workflow.name.ilike(pattern) | Workflow.title.ilike(pattern))
    return conditions


async def _steps(db: Database, version_id: UUID) -> list[WorkflowStepView]:
    rows = await db.run(
        WorkflowStep.select(
            WorkflowStep.position, WorkflowStep.step_key, WorkflowStep.action, WorkflowStep.config
        )
        .where(WorkflowStep.workflow_version_id == version_id)
        .order_by(WorkflowStep.position)
    )
    return [
        msgspec.convert({**row, "config": msgspec.json.decode(row["config"])}, WorkflowStepView)
        for row in rows
    ]


class PgWorkflowAdmin:
    """The ``WorkflowAdminStore`` port."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, where: WorkflowFilter, page: PageRequest, scope: UUID | None
    ) -> Page[WorkflowView]:
        """One page of workflows by name; ``where.name`` is found literally in a name or title."""
        conditions = _matching(where, scope)
        rows, total = await paged(
            self._db,
            Workflow.select(*_VIEW_COLUMNS).where(*conditions).order_by(Workflow.name),
            Workflow.count().where(*conditions),
            page,
        )
        return Page(items=views(rows, WorkflowView), total=total, request=page)

    async def detail(self, workflow_id: UUID, scope: UUID | None) -> WorkflowDetail | None:
        """The workflow, its versions (newest first) and its current version's steps."""
        rows = await self._db.run(
            Workflow.select(*_VIEW_COLUMNS, Workflow.current_version_id).where(
                Workflow.id == workflow_id, *_in_scope(scope)
            )
        )
        if not rows:
            return None
        versions = await self._db.run(
            WorkflowVersion.select(*_VERSION_COLUMNS)
            .where(WorkflowVersion.workflow_id == workflow_id)
            .order_by(WorkflowVersion.version, ascending=False)
        )
        current = rows[0]["current_version_id"]
        return WorkflowDetail(
            workflow=views(rows, WorkflowView)[0],
            versions=views(versions, WorkflowVersionView),
            steps=[] if current is None else await _steps(self._db, current),
        )

    async def version(
        self, workflow_id: UUID, version: int, scope: UUID | None
    ) -> WorkflowVersionDetail | None:
        """One version of the workflow: its normalised spec, its YAML source and its steps."""
        conditions = [
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.version == version,
        ]
        if scope is not None:
            conditions.append(WorkflowVersion.workflow_id.department_id == scope)
        rows = await self._db.run(
            WorkflowVersion.select(
                WorkflowVersion.id, *_VERSION_COLUMNS, WorkflowVersion.spec, WorkflowVersion.source
            ).where(*conditions)
        )
        if not rows:
            return None
        row = rows[0]
        return msgspec.convert(
            {
                **row,
                "spec": msgspec.json.decode(row["spec"]),
                "steps": await _steps(self._db, row["id"]),
            },
            WorkflowVersionDetail,
        )

    async def set_active(
        self, workflow_id: UUID, active: bool, scope: UUID | None, audit: AuditEntry
    ) -> bool | None:
        """Switch the workflow on or off and audit it when it changed, in one transaction.

        :returns: whether the flag changed; ``None`` when the workflow is not in the scope.
        """
        async with self._db.transaction() as conn:
            rows = await self._db.run(
                Workflow.select(Workflow.is_active, Workflow.department_id)
                .where(Workflow.id == workflow_id, *_in_scope(scope))
                .lock_rows()
            )
            if not rows:
                return None
            if rows[0]["is_active"] == active:
                return False
            await self._db.run(
                Workflow.update({Workflow.is_active: active, Workflow.updated_at: now()}).where(
                    Workflow.id == workflow_id
                )
            )
            entry = msgspec.structs.replace(audit, department_id=rows[0]["department_id"])
            await append_audit(conn, [entry])
        return True

    async def owner_of_name(self, name: str) -> tuple[bool, UUID | None]:
        """Whether a workflow called ``name`` exists, and its department."""
        rows = await self._db.run(
            Workflow.select(Workflow.department_id).where(Workflow.name == name)
        )
        return (True, rows[0]["department_id"]) if rows else (False, None)

    async def department_code(self, department_id: UUID) -> str | None:
        """The code of a department (``None`` if there is no such department)."""
        rows = await self._db.run(
            Department.select(Department.code).where(Department.id == department_id)
        )
        return str(rows[0]["code"]) if rows else None

    @contextlib.asynccontextmanager
    async def definitions(self) -> AsyncIterator[PgWorkflowStore]:
        """The workflow store over one connection held for the block."""
        async with self._db.pool.acquire() as conn:
            yield PgWorkflowStore(conn)
