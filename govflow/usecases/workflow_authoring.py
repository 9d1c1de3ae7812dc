"""Use cases: author a workflow through the API with JSON.

A workflow sent as a JSON document is rendered as canonical YAML
(:func:`~govflow.core.spec_edit.render_yaml`) and goes through the upload of that file: the
same validation, the same department rules, the same versions and audit entries. Its problems
are reported at JSON paths under ``body`` (``body.steps[2].action``) instead of lines and
columns of a file the caller never wrote. Rendering and editing YAML run in the off-loop pool,
as validation does: a large document never stalls the event loop.

Inserting a step (``POST /workflows/{id}/steps``) edits the current version's file
(:func:`~govflow.core.spec_edit.insert_step`, the author's comments and layout kept) and
uploads the result under the version's file name, exactly as an upload of the changed file
would. Problems of the inserted step are reported under ``body.step``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from govflow.core.spec_edit import insert_step, render_yaml
from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.yaml_source import ROOT, load_yaml
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.off_loop import run_off_loop
from govflow.usecases.principal import Principal
from govflow.usecases.workflow_admin import FieldForbiddenError, WorkflowAdmin
from govflow.usecases.workflow_views import UploadResult, ValidationResult
from govflow.usecases.workflows import SourceFile

BODY = "body"
_FIRST_AT_LINE = re.compile(r"\(first at line (\d+)\)")


@dataclass(frozen=True, slots=True)
class SpecDocument:
    """A workflow sent as data (a decoded JSON object), and the file name to store it under."""

    filename: str
    data: dict[str, Any]


class SpecBodyError(SpecError):
    """The workflow sent as JSON is not a valid workflow; each problem's ``path`` is a JSON
    path under ``body`` and its line and column mean nothing."""


class StepIdTakenError(ConflictError):
    """The workflow already has a step with the inserted step's id."""

    def __init__(self, step_id: str) -> None:
        super().__init__(f"the workflow already has a step {step_id!r}")
        self.problems = [("body.step.id", f"the workflow already has a step {step_id!r}")]


Upload = SourceFile | SpecDocument


def body_path(path: str, prefix: str = BODY) -> str:
    """``body.steps[2].action`` for the spec path ``steps[2].action`` (``$`` is the body)."""
    if path == ROOT:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def _first_at_path(message: str, path: str, text: str) -> str:
    """``(first at body.steps[0].id)`` for ``(first at line 7)``: lines of a rendering the
    caller never saw mean nothing to them."""
    found = _FIRST_AT_LINE.search(message)
    if found is None:
        return message
    leaf = path.rsplit(".", 1)[-1]
    line = int(found.group(1))
    keys = load_yaml(text, "body").keys
    for candidate, (key_line, _) in keys.items():
        if key_line == line and candidate.rsplit(".", 1)[-1] == leaf:
            return message.replace(found.group(0), f"(first at {body_path(candidate)})")
    return message


def _as_body_error(error: SpecError, text: str) -> SpecBodyError:
    return SpecBodyError(
        SpecProblem(
            file=BODY,
            line=problem.line,
            col=problem.col,
            path=body_path(problem.path),
            message=_first_at_path(problem.message, problem.path, text),
        )
        for problem in error.problems
    )


def _as_body_forbidden(error: FieldForbiddenError) -> FieldForbiddenError:
    refused = FieldForbiddenError(str(error), body_path(error.problems[0][0]))
    refused.problems = [(body_path(field), message) for field, message in error.problems]
    return refused


class WorkflowAuthoring:
    """Uploads of JSON documents and step insertions, through :class:`WorkflowAdmin`."""

    def __init__(self, admin: WorkflowAdmin) -> None:
        self._admin = admin

    async def upload(self, principal: Principal, upload: Upload) -> UploadResult:
        """Upload a YAML file, or a JSON document as its canonical YAML.

        :raises SpecBodyError: the JSON document is invalid (problems at ``body...``).
        :raises SpecError: the YAML file is invalid.
        :raises FieldForbiddenError: as :meth:`WorkflowAdmin.upload` (a JSON document's fields
            under ``body``).
        """
        if isinstance(upload, SourceFile):
            return await self._admin.upload(principal, upload)
        text = await run_off_loop(render_yaml, upload.data)
        try:
            return await self._admin.upload(principal, SourceFile(upload.filename, text))
        except FieldForbiddenError as error:
            raise _as_body_forbidden(error) from None
        except SpecError as error:
            raise await run_off_loop(_as_body_error, error, text) from None

    async def validate(self, upload: Upload) -> ValidationResult:
        """Validate a YAML file or a JSON document, saving nothing."""
        if isinstance(upload, SourceFile):
            return await self._admin.validate(upload)
        text = await run_off_loop(render_yaml, upload.data)
        try:
            return await self._admin.validate(SourceFile(upload.filename, text))
        except SpecError as error:
            raise await run_off_loop(_as_body_error, error, text) from None

    async def insert_step(
        self, principal: Principal, workflow_id: UUID, position: int | None, step: dict[str, Any]
    ) -> UploadResult:
        """Insert ``step`` at ``position`` (0 first; ``None`` or the number of steps appends)
        of the current version and upload the changed file.

        :raises NotFoundError: no such workflow in the caller's scope.
        :raises InvalidInputError: ``position`` is past the end, or the step is invalid
            (problems at ``body.step...``).
        :raises StepIdTakenError: the workflow has a step with that id already.
        :raises SpecError: the changed file is invalid outside the inserted step (the stored
            workflow no longer validates, e.g. an action was uninstalled).
        """
        detail = await self._admin.get(principal, workflow_id)
        current = detail.workflow.current_version
        if current is None:
            raise NotFoundError(f"workflow {workflow_id} has no version")
        stored = await self._admin.version(principal, workflow_id, current)
        count = len(stored.steps)
        at = count if position is None else position
        if at > count:
            raise InvalidInputError(
                [("body.position", f"must be at most {count} (the number of steps)")]
            )
        step_id = step.get("id")
        if isinstance(step_id, str) and step_id in {s.step_key for s in stored.steps}:
            raise StepIdTakenError(step_id)
        text = await run_off_loop(insert_step, stored.source, at, step)
        file = SourceFile(stored.source_path or "upload.yaml", text)
        try:
            return await self._admin.upload(principal, file)
        except SpecError as error:
            raise _step_problems(error, at) from None


def _step_problems(error: SpecError, position: int) -> Exception:
    """400 naming ``body.step...`` when every problem lies in the inserted step; otherwise the
    workflow's own problems (422)."""
    prefix = f"steps[{position}]"
    moved: list[tuple[str, str]] = []
    for problem in error.problems:
        path = problem.path
        if path != prefix and not path.startswith((f"{prefix}.", f"{prefix}[")):
            return error
        moved.append((f"body.step{path.removeprefix(prefix)}", problem.message))
    return InvalidInputError(moved)
