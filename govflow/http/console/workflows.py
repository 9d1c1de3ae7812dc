"""Workflows: the list with versions, a version's YAML source and diagram, upload and validate
(problems at their ``line:col``), activate and deactivate, and starting an execution from a
form generated from the workflow's inputs.

Everything goes through :class:`~govflow.usecases.workflow_admin.WorkflowAdmin` and
:class:`~govflow.usecases.execution_admin.ExecutionAdmin`, as ``/workflows`` does: reading
definitions, uploading and switching them is for ADMIN and MANAGER (a MANAGER within their own
department); an OPERATOR lists and starts the active workflows of their department.
"""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from govflow.core.spec_errors import SpecError
from govflow.http.console.executions_view import OPERATING_ROLES, check_reason, when
from govflow.http.console.pages import BASE, field_errors, redirect, render
from govflow.http.console.viewer import console_of
from govflow.http.console.workflows_view import (
    IDEMPOTENCY_PATTERN,
    input_fields,
    posted_inputs,
    problem_lines,
    source_lines,
    spec_diagram,
    start_errors,
)
from govflow.http.workflows.schemas import DEFAULT_FILENAME, decode_upload
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.errors import ConflictError, InvalidInputError, NotFoundError
from govflow.usecases.execution_admin import ExecutionAdmin
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, scope_department
from govflow.usecases.workflow_admin import WorkflowAdmin
from govflow.usecases.workflow_views import WorkflowFilter, WorkflowView

PAGE_SIZE = 25
NAME_LIMIT = 100
SEARCH_PAGES = 20
"""An OPERATOR finds a workflow to start among the (at most 2000) it may list."""


def workflows_of(request: Request[Any, Any, Any]) -> WorkflowAdmin:
    return console_of(request).api.services.workflow_admin()


def executions_of(request: Request[Any, Any, Any]) -> ExecutionAdmin:
    return console_of(request).api.services.execution_admin()


def _managing(viewer: Principal) -> None:
    """Reading and changing definitions is for ADMIN and MANAGER, as in the API."""
    if viewer.role not in OPERATING_ROLES:
        raise ForbiddenError("only an ADMIN or a MANAGER may manage workflows")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class WorkflowPages(Controller):
    path = "/workflows"

    @get("/")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        name: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        wanted = (name or "").strip()[:NAME_LIMIT] or None
        found = await workflows_of(request).search(
            viewer, WorkflowFilter(name=wanted), PageRequest(max(1, min(page, 10_000)), PAGE_SIZE)
        )
        context = {
            "found": found,
            "name": wanted or "",
            "managing": viewer.role in OPERATING_ROLES,
            "when": when,
        }
        return render(request, "workflows/list.html", context, viewer=viewer)

    @get("/upload")
    async def upload_page(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _managing(viewer)
        return render(request, "workflows/upload.html", {"source": ""}, viewer=viewer)

    @post("/upload")
    async def upload(
        self, request: Request[Any, Any, Any], viewer: NamedDependency[Principal]
    ) -> Response[Any]:
        _managing(viewer)
        form = await request.form()
        source = _text(form.get("source"))
        filename = _text(form.get("filename")).strip() or DEFAULT_FILENAME
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read()
            try:
                source = raw.decode("utf-8")
            except UnicodeDecodeError:
                return _upload_again(request, viewer, "", filename, {"file": "not UTF-8 text"})
            filename = upload.filename.rsplit("/", 1)[-1] or filename
        validate_only = _text(form.get("intent")) == "validate"
        workflows = workflows_of(request)
        try:
            file = decode_upload(
                "application/json",
                msgspec.json.encode({"filename": filename, "source": source}),
                None,
            )
            if validate_only:
                checked = await workflows.validate(file)
                message = f"{checked.name} is valid: {checked.steps} steps, {checked.department}."
                return _upload_again(request, viewer, source, filename, {}, valid=message)
            result = await workflows.upload(viewer, file)
        except SpecError as exc:
            context = {
                "source": source,
                "filename": filename,
                "problems": problem_lines(exc.problems),
                "lines": source_lines(source, exc.problems),
            }
            return render(request, "workflows/upload.html", context, viewer=viewer, status_code=422)
        except InvalidInputError as exc:
            errors = {
                ("source" if k == "body" else k): v for k, v in field_errors(exc.problems).items()
            }
            return _upload_again(request, viewer, source, filename, errors)
        except (ForbiddenError, ConflictError) as exc:
            return _upload_again(request, viewer, source, filename, {"form": str(exc)}, status=403)
        here = f"{BASE}/workflows/{result.workflow_id}/versions/{result.version}"
        return redirect(request, here, f"Workflow {result.name}: {result.outcome}.")

    @get("/{workflow_id:uuid}")
    async def workflow_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
    ) -> Response[Any]:
        _managing(viewer)
        detail = await workflows_of(request).get(viewer, workflow_id)
        current = detail.workflow.current_version
        if current is None:
            raise NotFoundError("the workflow has no version")
        return await _version_page(request, viewer, workflow_id, current)

    @get("/{workflow_id:uuid}/versions/{version:int}")
    async def version_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
        version: FromPath[int],
    ) -> Response[Any]:
        _managing(viewer)
        if not 1 <= version <= 2**31 - 1:
            raise NotFoundException()
        return await _version_page(request, viewer, workflow_id, version)

    @post("/{workflow_id:uuid}/{switch:str}")
    async def switch(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
        switch: FromPath[str],
    ) -> Response[Any]:
        if switch not in ("activate", "deactivate"):
            raise NotFoundException()
        _managing(viewer)
        form = await request.form()
        reason, errors = check_reason(_text(form.get("reason")))
        if errors:
            detail = await workflows_of(request).get(viewer, workflow_id)
            current = detail.workflow.current_version or 1
            return await _version_page(
                request, viewer, workflow_id, current, {"switch": errors}, 400
            )
        active = switch == "activate"
        await workflows_of(request).set_active(viewer, workflow_id, active, reason)
        done = "Workflow activated." if active else "Workflow deactivated."
        return redirect(request, f"{BASE}/workflows/{workflow_id}", done)

    @get("/{workflow_id:uuid}/start")
    async def start_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
    ) -> Response[Any]:
        return await _start_page(request, viewer, workflow_id)

    @post("/{workflow_id:uuid}/start")
    async def start(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        workflow_id: FromPath[UUID],
    ) -> Response[Any]:
        form = await request.form()
        posted = {key: form.get(key) for key in form}
        workflow, inputs = await _inputs_of(request, viewer, workflow_id)
        values, errors = posted_inputs(inputs, posted)
        key = _text(posted.get("idempotency_key"))
        if not IDEMPOTENCY_PATTERN.match(key):
            key = ""
        if errors:
            return await _start_page(request, viewer, workflow_id, posted, errors, 400)
        try:
            started = await executions_of(request).start(viewer, workflow.id, values, key or None)
        except InvalidInputError as exc:
            errors = start_errors(exc.problems)
            return await _start_page(request, viewer, workflow_id, posted, errors, 400)
        except ConflictError as exc:
            return await _start_page(request, viewer, workflow_id, posted, {"form": str(exc)}, 409)
        return redirect(
            request, f"{BASE}/executions/{started.execution_id}", f"{workflow.name} started."
        )


def _upload_again(
    request: Request[Any, Any, Any],
    viewer: Principal,
    source: str,
    filename: str,
    errors: dict[str, str],
    *,
    valid: str | None = None,
    status: int | None = None,
) -> Response[Any]:
    context = {"source": source, "filename": filename, "errors": errors, "valid": valid}
    code = status or (400 if errors else 200)
    return render(request, "workflows/upload.html", context, viewer=viewer, status_code=code)


async def _version_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    workflow_id: UUID,
    version: int,
    form_errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    workflows = workflows_of(request)
    detail = await workflows.get(viewer, workflow_id)
    shown = await workflows.version(viewer, workflow_id, version)
    workflow = detail.workflow
    triggers = await console_of(request).api.services.workflow_triggers(
        workflow_id, scope_department(viewer)
    )
    context = {
        "workflow": workflow,
        "triggers": triggers,
        "versions": detail.versions,
        "shown": shown,
        "lines": source_lines(shown.source),
        "diagram": spec_diagram(shown.spec, f"Steps of {workflow.name} version {version}"),
        "form_errors": form_errors or {},
        "when": when,
    }
    return render(
        request, "workflows/version.html", context, viewer=viewer, status_code=status_code
    )


async def _inputs_of(
    request: Request[Any, Any, Any], viewer: Principal, workflow_id: UUID
) -> tuple[WorkflowView, dict[str, Any]]:
    """The workflow (as the viewer may list it: an OPERATOR its department's active ones) and
    the inputs of its current version."""
    workflows = workflows_of(request)
    workflow: WorkflowView | None = None
    if viewer.role in OPERATING_ROLES:
        workflow = (await workflows.get(viewer, workflow_id)).workflow
    else:
        page = 1
        while workflow is None and page <= SEARCH_PAGES:
            listed = await workflows.search(viewer, WorkflowFilter(), PageRequest(page, 100))
            workflow = next((w for w in listed.items if w.id == workflow_id), None)
            if page >= listed.total_pages:
                break
            page += 1
    if workflow is None or workflow.current_version is None:
        raise NotFoundError(f"workflow {workflow_id} not found")
    shown = await workflows.version(viewer, workflow_id, workflow.current_version)
    inputs = shown.spec.get("inputs") or {}
    return workflow, inputs if isinstance(inputs, dict) else {}


async def _start_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    workflow_id: UUID,
    posted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    workflow, inputs = await _inputs_of(request, viewer, workflow_id)
    key = _text((posted or {}).get("idempotency_key")) or secrets.token_urlsafe(18)
    context = {
        "workflow": workflow,
        "fields": input_fields(inputs, posted),
        "errors": errors or {},
        "idempotency_key": key if IDEMPOTENCY_PATTERN.match(key) else secrets.token_urlsafe(18),
    }
    return render(request, "workflows/start.html", context, viewer=viewer, status_code=status_code)
