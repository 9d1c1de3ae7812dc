"""The workflow store port: where loaded workflow definitions and their versions are kept.

Error tree::

    WorkflowStoreError          the store refused a request
    ├── UnknownDepartmentError  a workflow names a department that does not exist
    └── WorkflowNotFoundError   no workflow (version) by that name or id
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import NamedTuple, Protocol
from uuid import UUID

import msgspec

from govflow.core.spec import WorkflowSpec
from govflow.usecases.audit import Actor


class WorkflowStoreError(Exception):
    """The workflow store refused the request."""


class UnknownDepartmentError(WorkflowStoreError):
    """A workflow names a department that does not exist."""

    def __init__(self, code: str, source_path: str | None) -> None:
        where = f"{source_path}: " if source_path else ""
        super().__init__(f"{where}department: unknown department {code!r}")
        self.code = code
        self.source_path = source_path


class WorkflowNotFoundError(WorkflowStoreError, LookupError):
    """No workflow or workflow version matches."""


class SaveResult(msgspec.Struct, frozen=True, kw_only=True):
    """What saving one workflow definition did.

    :ivar created: the workflow did not exist before.
    :ivar changed: the workflow's current version changed (a new version, or an older one whose
        content the file holds again); ``False`` means the load was a no-op.
    :ivar version_number: the current version after the save (1, 2, ...).
    """

    name: str
    workflow_id: UUID
    version_id: UUID
    version_number: int
    content_hash: str
    created: bool
    changed: bool
    restored: bool = False

    def describe(self) -> str:
        """``created``, ``new version N``, ``restored version N`` or ``unchanged``."""
        if self.created:
            return "created"
        if self.restored:
            return f"restored version {self.version_number}"
        if self.changed:
            return f"new version {self.version_number}"
        return "unchanged"


class VersionRecord(NamedTuple):
    """A stored workflow version, as an execution pinned to it needs it."""

    spec: WorkflowSpec
    workflow_id: UUID
    department_id: UUID | None


class CurrentWorkflow(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow with its current version."""

    workflow_id: UUID
    name: str
    title: str
    is_active: bool
    department_id: UUID | None
    version_id: UUID
    version_number: int
    spec: WorkflowSpec


class WorkflowSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the workflow list."""

    workflow_id: UUID
    name: str
    title: str
    department: str | None
    is_active: bool
    version_number: int | None
    version_id: UUID | None


class WorkflowStore(Protocol):
    """Keeps workflow definitions, one version per distinct content."""

    def atomic(self) -> AbstractAsyncContextManager[None]:
        """A unit of work: every save inside it is kept, or none is."""
        ...

    async def department_codes(self) -> set[str]:
        """The codes of the departments that exist."""
        ...

    async def save(
        self, spec: WorkflowSpec, source_text: str, source_path: str | None, actor: Actor
    ) -> SaveResult:
        """Store ``spec`` as the workflow's current version unless that content is current.

        :raises UnknownDepartmentError: ``spec.department`` does not exist.
        """
        ...


class WorkflowCatalog(Protocol):
    """Reads stored workflows (the engine pins executions to a version read from here)."""

    async def get_version(self, version_id: UUID) -> VersionRecord:
        """The version ``version_id``.

        :raises WorkflowNotFoundError: there is no such version.
        """
        ...

    async def find_current(self, name: str) -> CurrentWorkflow | None:
        """The workflow called ``name`` with its current version, if it exists."""
        ...

    async def list_workflows(self) -> list[WorkflowSummary]:
        """Every workflow with its current version, by name."""
        ...
