"""What the workflow endpoints answer: workflows, their versions and steps, upload results."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class WorkflowFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of the workflow list; ``name`` matches name or title, case-insensitively."""

    active: bool | None = None
    department_id: UUID | None = None
    name: str | None = None


class WorkflowView(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow with its current version number and content hash."""

    id: UUID
    name: str
    title: str
    description: str
    department_id: UUID | None
    department: str | None
    is_active: bool
    current_version: int | None
    content_hash: str | None
    created_at: datetime
    updated_at: datetime


class WorkflowVersionView(msgspec.Struct, frozen=True, kw_only=True):
    """One stored version (content is immutable; a changed file adds a version)."""

    version: int
    content_hash: str
    source_path: str | None
    created_by: UUID | None
    created_at: datetime


class WorkflowStepView(msgspec.Struct, frozen=True, kw_only=True):
    """A step of a version: its key, its action and its normalised definition."""

    position: int
    step_key: str
    action: str
    config: dict[str, Any]


class WorkflowDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow, every version (newest first) and the steps of the current one."""

    workflow: WorkflowView
    versions: list[WorkflowVersionView]
    steps: list[WorkflowStepView]


class WorkflowVersionDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One version with its normalised spec and the YAML it was loaded from."""

    version: int
    content_hash: str
    source_path: str | None
    created_by: UUID | None
    created_at: datetime
    spec: dict[str, Any]
    source: str
    steps: list[WorkflowStepView]


class UploadResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an upload did: ``outcome`` is ``created``, ``new version N``, ``restored version N``
    or ``unchanged``."""

    workflow_id: UUID
    name: str
    version: int
    content_hash: str
    created: bool
    changed: bool
    outcome: str
    warnings: list[str] = msgspec.field(default_factory=list)
    """E.g. an action of the workflow that no live worker offers (the upload still counts)."""


class ValidationResult(msgspec.Struct, frozen=True, kw_only=True):
    """A workflow file that passed validation (nothing was saved)."""

    valid: bool
    name: str
    department: str
    steps: int
    content_hash: str


class SpecProblemView(msgspec.Struct, frozen=True, kw_only=True):
    """One problem of a rejected workflow file, with its position in the YAML (none for a
    workflow sent as JSON: ``field`` is then its JSON path, ``body.steps[2].action``)."""

    field: str
    message: str
    line: int | None
    column: int | None


class SpecErrorBody(msgspec.Struct, kw_only=True):
    """The error envelope of a rejected workflow file (``code`` ``INVALID_WORKFLOW``)."""

    message: str
    code: str
    errors: list[SpecProblemView]
    success: bool = False
