"""``/workflows`` endpoints (ADMIN, MANAGER; a MANAGER works within their own department).

An OPERATOR may list the workflows it may start (its department's active ones). A workflow is
uploaded as a YAML file or as a JSON document, and a step can be inserted into the current
version (:mod:`govflow.usecases.workflow_authoring`).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_422_UNPROCESSABLE_ENTITY

from govflow.bootstrap import Container
from govflow.bootstrap.fleet import load_warnings
from govflow.core.spec_errors import SpecError
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.idempotency import idempotent
from govflow.http.policy import roles
from govflow.http.workflows.openapi import WorkflowFileOperation, with_responses
from govflow.http.workflows.schemas import (
    ActivationIn,
    StepInsertIn,
    decode_json_document,
    read_upload,
)
from govflow.usecases.off_loop import run_off_loop
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role, scope_department
from govflow.usecases.trigger_views import TriggersView
from govflow.usecases.workflow_admin import WorkflowAdmin
from govflow.usecases.workflow_authoring import SpecBodyError, WorkflowAuthoring
from govflow.usecases.workflow_views import (
    SpecErrorBody,
    SpecProblemView,
    UploadResult,
    ValidationResult,
    WorkflowDetail,
    WorkflowFilter,
    WorkflowStepView,
    WorkflowVersionDetail,
    WorkflowView,
)

MANAGERS = (Role.ADMIN, Role.MANAGER)
EVERYONE = (Role.ADMIN, Role.MANAGER, Role.OPERATOR)
NameFilter = Annotated[str | None, QueryParameter(min_length=1, max_length=100)]
VersionNumber = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]


def provide_workflows(services: NamedDependency[Container]) -> WorkflowAdmin:
    """The workflow use cases, as the container builds them."""
    return services.workflow_admin()


def spec_error(request: Request[Any, Any, Any], exc: Exception) -> Response[SpecErrorBody]:
    """A rejected workflow file: 422 with each problem's spec path, line and column (a JSON
    workflow's problems at their ``body...`` path, without line and column)."""
    problems = exc.problems if isinstance(exc, SpecError) else []
    positioned = not isinstance(exc, SpecBodyError)
    body = SpecErrorBody(
        message="The workflow file is invalid",
        code="INVALID_WORKFLOW",
        errors=[
            SpecProblemView(
                field=p.path,
                message=p.message,
                line=p.line if positioned else None,
                column=p.col if positioned else None,
            )
            for p in problems
        ],
    )
    return Response(body, status_code=HTTP_422_UNPROCESSABLE_ENTITY)


class WorkflowsController(Controller):
    path = "/workflows"
    tags = ["workflows"]
    dependencies = {"workflows": Provide(provide_workflows, sync_to_thread=False)}
    exception_handlers = {SpecError: spec_error}

    @get("/", operation_id="listWorkflows", **roles(*EVERYONE))
    async def list_workflows(
        self,
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
        active: FromQuery[bool | None] = None,
        department_id: FromQuery[UUID | None] = None,
        name: NameFilter = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[WorkflowView]:
        """Workflows by name; ``name`` matches name or title. A MANAGER sees their own
        department's only, an OPERATOR their own department's active ones (those it may
        start)."""
        where = WorkflowFilter(active=active, department_id=department_id, name=name)
        return paged(await workflows.search(principal, where, PageRequest(page, limit)))

    @get("/{workflow_id:uuid}", operation_id="getWorkflow", **roles(*MANAGERS))
    async def get_workflow(
        self,
        workflow_id: FromPath[UUID],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[WorkflowDetail]:
        """The workflow, its versions (newest first) and its current version's steps."""
        return ok(await workflows.get(principal, workflow_id))

    @get("/{workflow_id:uuid}/triggers", operation_id="getWorkflowTriggers", **roles(*MANAGERS))
    async def get_triggers(
        self,
        workflow_id: FromPath[UUID],
        services: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> Envelope[TriggersView]:
        """The current version's triggers: the schedule with its last and next fire, the
        webhook's URL and secret name (whether it is configured, never its value), and the
        recent trigger events (slots fired, missed or failed; deliveries accepted or refused)."""
        return ok(await services.workflow_triggers(workflow_id, scope_department(principal)))

    @get("/{workflow_id:uuid}/steps", operation_id="listWorkflowSteps", **roles(*MANAGERS))
    async def list_steps(
        self,
        workflow_id: FromPath[UUID],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[list[WorkflowStepView]]:
        """The steps of the current version, in order."""
        return ok(await workflows.steps(principal, workflow_id))

    @get(
        "/{workflow_id:uuid}/versions/{version:int}",
        operation_id="getWorkflowVersion",
        **roles(*MANAGERS),
    )
    async def get_version(
        self,
        workflow_id: FromPath[UUID],
        version: VersionNumber,
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
    ) -> Envelope[WorkflowVersionDetail]:
        """One version: the normalised spec, the YAML source and the steps."""
        return ok(await workflows.version(principal, workflow_id, version))

    @idempotent
    @post(
        "/",
        operation_id="uploadWorkflow",
        status_code=HTTP_201_CREATED,
        **with_responses(
            roles(*MANAGERS),
            {HTTP_200_OK: (Envelope[UploadResult], "Unchanged: the same content is current")},
            415,
            422,
            operation_class=WorkflowFileOperation,
        ),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
        services: NamedDependency[Container],
    ) -> Response[Envelope[UploadResult]]:
        """Upload a workflow file (YAML, or JSON ``{source, filename}``) or the workflow as a
        JSON object; 201 when it created the workflow or a version, 200 when that content is
        already current."""
        upload = await read_upload(request)
        result = await WorkflowAuthoring(workflows).upload(principal, upload)
        return await _answer(workflows, principal, services, result)

    @idempotent
    @post(
        "/{workflow_id:uuid}/steps",
        operation_id="insertWorkflowStep",
        status_code=HTTP_201_CREATED,
        **with_responses(roles(*MANAGERS), None, 409, 422),
    )
    async def insert_step(
        self,
        request: Request[Any, Any, Any],
        workflow_id: FromPath[UUID],
        data: JSONBody[StepInsertIn],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
        services: NamedDependency[Container],
    ) -> Response[Envelope[UploadResult]]:
        """Insert a step (JSON, as the DSL writes it) at ``position`` of the current version
        and save the changed file as a new version, as its upload would."""
        # A key written twice is refused (the decoded ``data`` kept only its last value).
        await run_off_loop(decode_json_document, await request.body())
        result = await WorkflowAuthoring(workflows).insert_step(
            principal, workflow_id, data.position, data.step
        )
        return await _answer(workflows, principal, services, result)

    @post(
        "/validate",
        operation_id="validateWorkflow",
        status_code=HTTP_200_OK,
        **with_responses(roles(*MANAGERS), None, 415, 422, operation_class=WorkflowFileOperation),
    )
    async def validate(
        self, request: Request[Any, Any, Any], workflows: NamedDependency[WorkflowAdmin]
    ) -> Envelope[ValidationResult]:
        """Validate a workflow file as an upload would, saving nothing."""
        checked = await WorkflowAuthoring(workflows).validate(await read_upload(request))
        return ok(checked, "The workflow file is valid")

    @post(
        "/{workflow_id:uuid}/activate",
        operation_id="activateWorkflow",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def activate(
        self,
        workflow_id: FromPath[UUID],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
        data: JSONBody[ActivationIn | None] = None,
    ) -> Envelope[WorkflowDetail]:
        """Allow new executions again. Audited ``WORKFLOW_ACTIVATED`` when it changed."""
        reason = data.reason if data else None
        return ok(await workflows.set_active(principal, workflow_id, True, reason))

    @post(
        "/{workflow_id:uuid}/deactivate",
        operation_id="deactivateWorkflow",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def deactivate(
        self,
        workflow_id: FromPath[UUID],
        workflows: NamedDependency[WorkflowAdmin],
        principal: NamedDependency[Principal],
        data: JSONBody[ActivationIn | None] = None,
    ) -> Envelope[WorkflowDetail]:
        """Refuse new executions (running ones go on). Audited ``WORKFLOW_DEACTIVATED``."""
        reason = data.reason if data else None
        return ok(await workflows.set_active(principal, workflow_id, False, reason))


async def _answer(
    workflows: WorkflowAdmin, principal: Principal, services: Container, result: UploadResult
) -> Response[Envelope[UploadResult]]:
    """An upload's answer: 201 for a new workflow or version (200 unchanged), with warnings
    about actions no live worker offers."""
    stored = await workflows.version(principal, result.workflow_id, result.version)
    warnings = await load_warnings(services, [step.action for step in stored.steps])
    result = msgspec.structs.replace(result, warnings=warnings)
    status = HTTP_201_CREATED if result.changed else HTTP_200_OK
    message = f"Workflow {result.name}: {result.outcome}"
    return Response(ok(result, message), status_code=status)
