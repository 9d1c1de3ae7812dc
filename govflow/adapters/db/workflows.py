"""Workflow definitions in PostgreSQL: the ``WorkflowStore`` port (saving loaded files).

A save runs in one transaction (a savepoint inside the caller's, if there is one) under
``pg_advisory_xact_lock(hashtext('govflow.workflow:' || name))``, so that loads running at the
same time serialise per workflow: the first inserts the version, the others find its hash and
do nothing. Specs are stored normalised (``versioning.normalise``) as JSONB; they decode back
into the same :class:`~govflow.core.spec.WorkflowSpec`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from govflow.adapters.db.audit import append_audit
from govflow.core.audit_events import AuditEvent
from govflow.core.spec import InputSpec, WorkflowSpec
from govflow.core.subworkflow_refs import WorkflowSignature
from govflow.core.versioning import content_hash, normalise
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.ports_workflows import SaveResult, UnknownDepartmentError

LOCK_PREFIX = "govflow.workflow:"

_LOCK = "SELECT pg_advisory_xact_lock(hashtext($1 || $2))"
_DEPARTMENT = "SELECT id FROM departments WHERE code = $1"
_WORKFLOW = "SELECT id, current_version_id FROM workflows WHERE name = $1 FOR UPDATE"
_VERSION_BY_HASH = (
    "SELECT id, version FROM workflow_versions WHERE workflow_id = $1 AND content_hash = $2"
)
_INSERT_WORKFLOW = """
INSERT INTO workflows (name, title, description, department_id, created_by)
VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
_UPDATE_WORKFLOW = """
UPDATE workflows SET title = $2, description = $3, department_id = $4, updated_at = now()
WHERE id = $1
"""
_INSERT_VERSION = """
INSERT INTO workflow_versions (workflow_id, version, content_hash, spec, source, source_path,
                               created_by)
SELECT $1, coalesce(max(version), 0) + 1, $2, $3::jsonb, $4, $5, $6
FROM workflow_versions WHERE workflow_id = $1
RETURNING id, version
"""
_INSERT_STEPS = """
INSERT INTO workflow_steps (workflow_version_id, position, step_key, action, config)
SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::jsonb[])
"""
_SET_CURRENT = "UPDATE workflows SET current_version_id = $2, updated_at = now() WHERE id = $1"


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


_SIGNATURES = """
SELECT w.name, coalesce(c.spec->'inputs', '{}'::jsonb)::text AS inputs,
       array(SELECT v.version FROM workflow_versions v WHERE v.workflow_id = w.id) AS versions
  FROM workflows w
  LEFT JOIN workflow_versions c ON c.id = w.current_version_id
"""


class PgWorkflowStore:
    """Workflow definitions over one asyncpg connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @contextlib.asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """One transaction around several saves: all are kept, or none."""
        async with self._conn.transaction():
            yield

    async def department_codes(self) -> set[str]:
        """The codes of the departments that exist."""
        rows = await self._conn.fetch("SELECT code FROM departments")
        return {str(row["code"]) for row in rows}

    async def workflow_signatures(self) -> dict[str, WorkflowSignature]:
        """Every workflow's version numbers and its current version's declared inputs."""
        rows = await self._conn.fetch(_SIGNATURES)
        return {
            str(row["name"]): WorkflowSignature(
                inputs=msgspec.json.decode(row["inputs"], type=dict[str, InputSpec]),
                versions=frozenset(row["versions"]),
            )
            for row in rows
        }

    async def save(
        self, spec: WorkflowSpec, source_text: str, source_path: str | None, actor: Actor
    ) -> SaveResult:
        """Store ``spec`` as the workflow's current version (see the module docstring).

        :raises UnknownDepartmentError: ``spec.department`` does not exist; nothing is saved.
        """
        conn = self._conn
        digest = content_hash(spec)
        async with conn.transaction():
            await conn.execute(_LOCK, LOCK_PREFIX, spec.name)
            department_id = await conn.fetchval(_DEPARTMENT, spec.department)
            if department_id is None:
                raise UnknownDepartmentError(spec.department, source_path)
            row = await conn.fetchrow(_WORKFLOW, spec.name)
            existing = None
            if row is not None:
                workflow_id: UUID = row["id"]
                existing = await conn.fetchrow(_VERSION_BY_HASH, workflow_id, digest)
                if existing is not None and existing["id"] == row["current_version_id"]:
                    return SaveResult(
                        name=spec.name,
                        workflow_id=workflow_id,
                        version_id=existing["id"],
                        version_number=existing["version"],
                        content_hash=digest,
                        created=False,
                        changed=False,
                    )
                await conn.execute(
                    _UPDATE_WORKFLOW, workflow_id, spec.title, spec.description, department_id
                )
            else:
                workflow_id = await conn.fetchval(
                    _INSERT_WORKFLOW,
                    spec.name,
                    spec.title,
                    spec.description,
                    department_id,
                    actor.user_id,
                )
            if existing is not None:
                version_id, number = existing["id"], existing["version"]
            else:
                version_id, number = await self._insert_version(
                    workflow_id, spec, digest, source_text, source_path, actor
                )
            await conn.execute(_SET_CURRENT, workflow_id, version_id)
            result = SaveResult(
                name=spec.name,
                workflow_id=workflow_id,
                version_id=version_id,
                version_number=number,
                content_hash=digest,
                created=row is None,
                changed=True,
                restored=existing is not None,
            )
            await append_audit(conn, _audit(result, department_id, source_path, actor))
        return result

    async def _insert_version(
        self,
        workflow_id: UUID,
        spec: WorkflowSpec,
        digest: str,
        source_text: str,
        source_path: str | None,
        actor: Actor,
    ) -> tuple[UUID, int]:
        data = normalise(spec)
        row = await self._conn.fetchrow(
            _INSERT_VERSION,
            workflow_id,
            digest,
            _json(data),
            source_text,
            source_path,
            actor.user_id,
        )
        assert row is not None
        steps: list[dict[str, Any]] = data["steps"]
        await self._conn.execute(
            _INSERT_STEPS,
            row["id"],
            list(range(len(steps))),
            [step["id"] for step in steps],
            [step["action"] for step in steps],
            [_json(step) for step in steps],
        )
        return row["id"], row["version"]


def _audit(
    result: SaveResult, department_id: UUID, source_path: str | None, actor: Actor
) -> list[AuditEntry]:
    metadata = {
        "name": result.name,
        "version": result.version_number,
        "version_id": str(result.version_id),
        "content_hash": result.content_hash,
        "source_path": source_path,
    }
    actions = [AuditEvent.WORKFLOW_CREATED] if result.created else []
    actions.append(
        AuditEvent.WORKFLOW_VERSION_RESTORED
        if result.restored
        else AuditEvent.WORKFLOW_VERSION_CREATED
    )
    return [
        AuditEntry(
            action=action,
            actor=actor,
            entity_type="workflow",
            entity_id=str(result.workflow_id),
            department_id=department_id,
            metadata=metadata,
        )
        for action in actions
    ]
