"""The workflow store port: where loaded workflow definitions and their versions are kept.

Stored workflows are read through one catalog, the one that starting an execution uses
(:class:`govflow.usecases.start_execution.WorkflowCatalog`), the versions' specs through the
engine's :class:`~govflow.usecases.ports.SpecSource`, and the API's and the CLI's listings
through :class:`~govflow.usecases.workflow_admin.WorkflowAdminStore`.

Error tree::

    WorkflowStoreError          the store refused a request
    └── UnknownDepartmentError  a workflow names a department that does not exist
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol
from uuid import UUID

import msgspec

from govflow.core.spec import WorkflowSpec
from govflow.core.subworkflow_refs import WorkflowSignature
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


class WorkflowStore(Protocol):
    """Keeps workflow definitions, one version per distinct content."""

    def atomic(self) -> AbstractAsyncContextManager[None]:
        """A unit of work: every save inside it is kept, or none is."""
        ...

    async def department_codes(self) -> set[str]:
        """The codes of the departments that exist."""
        ...

    async def workflow_signatures(self) -> dict[str, WorkflowSignature]:
        """Every stored workflow by name: its version numbers and its current version's
        declared inputs (what a ``workflow`` step naming it is checked against)."""
        ...

    async def save(
        self, spec: WorkflowSpec, source_text: str, source_path: str | None, actor: Actor
    ) -> SaveResult:
        """Store ``spec`` as the workflow's current version unless that content is current.

        :raises UnknownDepartmentError: ``spec.department`` does not exist.
        """
        ...
