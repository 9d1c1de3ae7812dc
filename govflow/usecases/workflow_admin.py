"""Use cases of the workflow endpoints: list and read definitions, upload and validate YAML,
activate and deactivate.

An upload is validated exactly as ``govflow workflows load`` validates a file
(:func:`~govflow.usecases.workflows.validate_workflow_files`), in a thread of the off-loop pool so
that an expensive file never stalls the event loop; the same content is a no-op, new content
adds a version. A non-ADMIN may only upload a workflow of their own department, and may
not take over a workflow name another department owns. An OPERATOR lists only the workflows it
may start: its own department's active ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.department_status import DepartmentStatus, ensure_department_active
from govflow.usecases.errors import ConflictError, NotFoundError
from govflow.usecases.off_loop import run_off_loop
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.ports_workflows import WorkflowStore, WorkflowStoreError
from govflow.usecases.principal import Principal, Role, scope_department
from govflow.usecases.workflow_views import (
    UploadResult,
    ValidationResult,
    WorkflowDetail,
    WorkflowFilter,
    WorkflowStepView,
    WorkflowVersionDetail,
    WorkflowView,
)
from govflow.usecases.workflows import (
    SourceFile,
    ValidWorkflow,
    save_workflows,
    validate_workflow_files,
)


class FieldForbiddenError(ForbiddenError):
    """Not allowed, because of the value of one field (``department``, ``name``)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.problems = [(field, message)]


class WorkflowAdminStore(Protocol):
    """Workflow definitions as the API reads and switches them, restricted to a scope."""

    async def search(
        self, where: WorkflowFilter, page: PageRequest, scope: UUID | None
    ) -> Page[WorkflowView]: ...

    async def detail(self, workflow_id: UUID, scope: UUID | None) -> WorkflowDetail | None: ...

    async def version(
        self, workflow_id: UUID, version: int, scope: UUID | None
    ) -> WorkflowVersionDetail | None: ...

    async def set_active(
        self, workflow_id: UUID, active: bool, scope: UUID | None, audit: AuditEntry
    ) -> bool | None: ...

    async def owner_of_name(self, name: str) -> tuple[bool, UUID | None]: ...

    async def department_code(self, department_id: UUID) -> str | None: ...

    def definitions(self) -> AbstractAsyncContextManager[WorkflowStore]: ...


class WorkflowAdmin:
    """The workflow endpoints' use cases."""

    def __init__(
        self,
        store: WorkflowAdminStore,
        actions: Mapping[str, type[msgspec.Struct]],
        *,
        departments: DepartmentStatus,
    ) -> None:
        self._store = store
        self._actions = actions
        self._departments = departments

    async def search(
        self, principal: Principal, where: WorkflowFilter, page: PageRequest
    ) -> Page[WorkflowView]:
        """Workflows in the caller's department (every one for an ADMIN); for an OPERATOR the
        active ones only (``active=false`` finds none)."""
        if principal.role is Role.OPERATOR:
            if where.active is False:
                return Page(items=[], total=0, request=page)
            where = msgspec.structs.replace(where, active=True)
        return await self._store.search(where, page, scope_department(principal))

    async def get(self, principal: Principal, workflow_id: UUID) -> WorkflowDetail:
        detail = await self._store.detail(workflow_id, scope_department(principal))
        if detail is None:
            raise NotFoundError(f"workflow {workflow_id} not found")
        return detail

    async def steps(self, principal: Principal, workflow_id: UUID) -> list[WorkflowStepView]:
        return (await self.get(principal, workflow_id)).steps

    async def version(
        self, principal: Principal, workflow_id: UUID, version: int
    ) -> WorkflowVersionDetail:
        found = await self._store.version(workflow_id, version, scope_department(principal))
        if found is None:
            raise NotFoundError(f"workflow {workflow_id} has no version {version}")
        return found

    async def validate(self, file: SourceFile) -> ValidationResult:
        """Validate without saving (in a thread: the event loop goes on meanwhile).

        :raises SpecError: with every problem (file, line, column, spec path, message).
        """
        return _summary(await self._validated(file))

    async def _validated(self, file: SourceFile) -> ValidWorkflow:
        return (await run_off_loop(validate_workflow_files, [file], self._actions))[0]

    async def upload(self, principal: Principal, file: SourceFile) -> UploadResult:
        """Validate and save one workflow file.

        :raises SpecError: the file is invalid or names an unknown department; nothing saved.
        :raises FieldForbiddenError: a non-ADMIN uploads for another department, or over a
            workflow another department owns.
        :raises DepartmentInactiveError: the caller's department is inactive.
        """
        await ensure_department_active(self._departments, principal.department_id)
        valid = await self._validated(file)
        if not principal.is_admin:
            await self._check_ownership(principal, _summary(valid))
        async with self._store.definitions() as definitions:
            try:
                saved = (await save_workflows([valid], definitions, principal.actor()))[0]
            except WorkflowStoreError as exc:
                raise ConflictError(str(exc)) from exc
        return UploadResult(
            workflow_id=saved.workflow_id,
            name=saved.name,
            version=saved.version_number,
            content_hash=saved.content_hash,
            created=saved.created,
            changed=saved.changed,
            outcome=saved.describe(),
        )

    async def _check_ownership(self, principal: Principal, checked: ValidationResult) -> None:
        own = (
            await self._store.department_code(principal.department_id)
            if principal.department_id is not None
            else None
        )
        if own is None or checked.department != own:
            raise FieldForbiddenError(
                f"you may only upload workflows of your own department ({own or 'none'})",
                "department",
            )
        exists, owner = await self._store.owner_of_name(checked.name)
        if exists and owner != principal.department_id:
            raise FieldForbiddenError(
                f"the workflow name {checked.name!r} belongs to another department", "name"
            )

    async def set_active(
        self, principal: Principal, workflow_id: UUID, active: bool, reason: str | None
    ) -> WorkflowDetail:
        """Activate or deactivate; audited when the flag changes (a repeat is a no-op)."""
        event = AuditEvent.WORKFLOW_ACTIVATED if active else AuditEvent.WORKFLOW_DEACTIVATED
        audit = AuditEntry(
            action=event,
            actor=principal.actor(),
            entity_type="workflow",
            entity_id=str(workflow_id),
            request_id=principal.request_id,
            reason=reason or None,
        )
        scope = scope_department(principal)
        if await self._store.set_active(workflow_id, active, scope, audit) is None:
            raise NotFoundError(f"workflow {workflow_id} not found")
        return await self.get(principal, workflow_id)


def _summary(valid: ValidWorkflow) -> ValidationResult:
    return ValidationResult(
        valid=True,
        name=valid.spec.name,
        department=valid.spec.department,
        steps=len(valid.spec.steps),
        content_hash=valid.content_hash,
    )
