"""Executions: the list with its filters and live refresh, an execution's page (timeline,
diagram, operator actions).

Everything goes through :class:`~govflow.usecases.execution_admin.ExecutionAdmin`, the use case
behind ``/workflow-executions``: the same department scoping, an OPERATOR seeing only its own
executions, the operator actions audited with the viewer as the actor and the reason given.
The pages poll fragments (``/rows``, ``/live``) with htmx while something may still change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_204_NO_CONTENT

from govflow.bootstrap.fleet import fire_timer_now
from govflow.core.roles import Role
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus, StepStatus
from govflow.http.console.executions_view import (
    OPERATING_ROLES,
    Filters,
    check_reason,
    diagram,
    fingerprint,
    live,
    offered,
    parse_filters,
    rows,
    timeline,
)
from govflow.http.console.pages import BASE, redirect, render
from govflow.http.console.task_pages import tasks_of
from govflow.http.console.viewer import console_of
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.errors import ConflictError, InvalidInputError
from govflow.usecases.execution_admin import ExecutionAdmin
from govflow.usecases.execution_views import ExecutionView
from govflow.usecases.operate import Resolution
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import TaskFilter

PAGE_SIZE = 25
PAGE_LIMIT = 100_000
LIST_REFRESH = "every 5s"
PAGE_REFRESH = "every 3s"


def executions_of(request: Request[Any, Any, Any]) -> ExecutionAdmin:
    return console_of(request).api.services.execution_admin()


def _now() -> datetime:
    return datetime.now(UTC)


async def _departments(request: Request[Any, Any, Any], viewer: Principal) -> list[Any]:
    """The departments an ADMIN may filter by (others see their own department's only)."""
    if viewer.role is not Role.ADMIN:
        return []
    found = await console_of(request).api.departments.search(viewer, PageRequest(1, 100))
    return list(found.items)


async def _listing(
    request: Request[Any, Any, Any], viewer: Principal, given: Filters, page: int
) -> dict[str, Any]:
    where, errors = parse_filters(given)
    wanted = PageRequest(max(1, min(page, PAGE_LIMIT)), PAGE_SIZE)
    found = await executions_of(request).search(viewer, where, wanted)
    return {
        "filters": given,
        "query": given.query(),
        "errors": errors,
        "found": found,
        "rows": rows(found.items, _now()),
        "refresh": LIST_REFRESH,
    }


def _filters(
    status: str | None,
    workflow: str | None,
    department: str | None,
    started_from: str | None,
    started_to: str | None,
) -> Filters:
    return Filters(
        status=(status or "")[:40],
        workflow=(workflow or "")[:200],
        department=(department or "")[:40],
        started_from=(started_from or "")[:20],
        started_to=(started_to or "")[:20],
    )


class ExecutionPages(Controller):
    path = "/executions"

    @get("/")
    async def list_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        status: FromQuery[str | None] = None,
        workflow: FromQuery[str | None] = None,
        department: FromQuery[str | None] = None,
        started_from: FromQuery[str | None] = None,
        started_to: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        given = _filters(status, workflow, department, started_from, started_to)
        context = await _listing(request, viewer, given, page)
        context["statuses"] = [s.value for s in ExecutionStatus]
        context["departments"] = await _departments(request, viewer)
        return render(request, "executions/list.html", context, viewer=viewer)

    @get("/rows")
    async def rows_fragment(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        status: FromQuery[str | None] = None,
        workflow: FromQuery[str | None] = None,
        department: FromQuery[str | None] = None,
        started_from: FromQuery[str | None] = None,
        started_to: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        given = _filters(status, workflow, department, started_from, started_to)
        context = await _listing(request, viewer, given, page)
        return render(request, "executions/_rows.html", context, viewer=viewer)

    @get("/{execution_id:uuid}")
    async def execution_page(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        execution_id: FromPath[UUID],
    ) -> Response[Any]:
        return await _page(request, viewer, execution_id)

    @get("/{execution_id:uuid}/live")
    async def live_fragment(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        execution_id: FromPath[UUID],
        since: FromQuery[str | None] = None,
    ) -> Response[Any]:
        context = await _live_context(request, viewer, execution_id)
        if since is not None and since == context["fingerprint"]:
            return Response(content=b"", status_code=HTTP_204_NO_CONTENT)
        if since is not None and not context["live"]:
            # It ended since the page was drawn: draw the whole page again, so that its end
            # time and the operator actions it still allows are those of the ended execution.
            return Response(content=b"", headers={"HX-Refresh": "true"})
        return render(request, "executions/_live.html", context, viewer=viewer)

    @post("/{execution_id:uuid}/{action:str}")
    async def act(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        execution_id: FromPath[UUID],
        action: FromPath[str],
    ) -> Response[Any]:
        if action not in ("cancel", "retry"):
            raise NotFoundException()
        _operator(viewer)
        form = await request.form()
        reason, errors = check_reason(_text(form.get("reason")))
        if errors:
            return await _page(request, viewer, execution_id, {action: errors}, 400)
        executions = executions_of(request)
        try:
            if action == "cancel":
                await executions.cancel(viewer, execution_id, reason)
            else:
                await executions.retry(viewer, execution_id, reason)
        except (ConflictError, ForbiddenError) as exc:
            return await _refused(request, viewer, execution_id, action, exc)
        done = "Execution canceled." if action == "cancel" else "Execution retried."
        return redirect(request, f"{BASE}/executions/{execution_id}", done)

    @post("/{execution_id:uuid}/steps/{step_key:str}/resolve")
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        execution_id: FromPath[UUID],
        step_key: FromPath[str],
    ) -> Response[Any]:
        _operator(viewer)
        form = await request.form()
        reason, errors = check_reason(_text(form.get("reason")))
        try:
            resolution = Resolution(_text(form.get("resolution")))
        except ValueError:
            errors["resolution"] = "choose retry, skip or mark done"
            resolution = Resolution.RETRY
        key = f"resolve:{step_key}"
        if errors:
            return await _page(request, viewer, execution_id, {key: errors}, 400)
        try:
            await executions_of(request).resolve(
                viewer, execution_id, step_key, resolution, reason, None
            )
        except InvalidInputError as exc:
            problems = {path.rpartition(".")[2]: message for path, message in exc.problems}
            return await _page(request, viewer, execution_id, {key: problems}, 400)
        except (ConflictError, ForbiddenError) as exc:
            return await _refused(request, viewer, execution_id, key, exc)
        return redirect(request, f"{BASE}/executions/{execution_id}", f"Step {step_key} resolved.")

    @post("/{execution_id:uuid}/steps/{step_key:str}/fire-timer")
    async def fire_timer(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        execution_id: FromPath[UUID],
        step_key: FromPath[str],
    ) -> Response[Any]:
        _operator(viewer)
        form = await request.form()
        reason, errors = check_reason(_text(form.get("reason")))
        key = f"fire:{step_key}"
        if errors:
            return await _page(request, viewer, execution_id, {key: errors}, 400)
        services = console_of(request).api.services
        try:
            await fire_timer_now(services, viewer, execution_id, step_key, reason)
        except (ConflictError, ForbiddenError) as exc:
            return await _refused(request, viewer, execution_id, key, exc)
        done = f"Timer of step {step_key} fired."
        return redirect(request, f"{BASE}/executions/{execution_id}", done)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _operator(viewer: Principal) -> None:
    """Cancel, retry, resolve and fire-timer are for ADMIN and MANAGER, as in the API."""
    if viewer.role not in OPERATING_ROLES:
        raise ForbiddenError("only an ADMIN or a MANAGER may operate executions")


async def _waiting_tasks(
    request: Request[Any, Any, Any], viewer: Principal, execution: ExecutionView
) -> dict[str, UUID]:
    """The task each ``manual`` step waits on, by step key, among those the viewer may see
    (nothing is read while no such step waits): the step's task not ended (a step run again
    keeps its earlier tasks, ended)."""
    waiting = {
        step.id: step.step_key
        for step in execution.steps
        if step.action == "manual" and step.status is StepStatus.WAITING
    }
    if not waiting:
        return {}
    tasks = tasks_of(console_of(request).api)
    found = await tasks.search(viewer, TaskFilter(execution_id=execution.id), PageRequest(1, 50))
    return {
        waiting[t.step_id]: t.id
        for t in found.items
        if t.step_id in waiting and t.status in HumanTaskStatus.ACTIVE
    }


async def _live_context(
    request: Request[Any, Any, Any], viewer: Principal, execution_id: UUID
) -> dict[str, Any]:
    executions = executions_of(request)
    execution = await executions.get(viewer, execution_id)
    details = await executions.steps(viewer, execution_id)
    now = _now()
    return {
        "execution": execution,
        "timeline": timeline(details, now),
        "task_links": await _waiting_tasks(request, viewer, execution),
        "diagram": diagram(execution),
        "live": live(execution.status),
        "fingerprint": fingerprint(execution),
        "refresh": PAGE_REFRESH,
        "now": now,
        "operate": viewer.role in OPERATING_ROLES,
    }


async def _refused(
    request: Request[Any, Any, Any],
    viewer: Principal,
    execution_id: UUID,
    form: str,
    exc: ConflictError | ForbiddenError,
) -> Response[Any]:
    """The page again with the refusal under ``form``: 409 for a conflict, 403 for a role."""
    status = 409 if isinstance(exc, ConflictError) else 403
    return await _page(request, viewer, execution_id, {form: {"form": str(exc)}}, status)


async def _page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    execution_id: UUID,
    form_errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    context = await _live_context(request, viewer, execution_id)
    context["offered"] = offered(viewer, context["execution"])
    context["form_errors"] = form_errors or {}
    context["resolutions"] = [
        (Resolution.RETRY.value, "Retry the step"),
        (Resolution.SKIP.value, "Skip the step"),
        (Resolution.MARK_DONE.value, "Mark the step done"),
    ]
    return render(request, "executions/page.html", context, viewer=viewer, status_code=status_code)
