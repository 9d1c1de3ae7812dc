"""My tasks: the inbox (assigned to me, eligible for me, overdue, my department's) with counts,
and a task's page with the actions its state and the viewer's role allow.

The inbox and the page read through :class:`~govflow.usecases.task_views.Tasks` (the use case
behind ``GET /tasks``) and :mod:`govflow.usecases.task_page`; every action is
:meth:`Tasks.act`, as ``POST /tasks/{task_id}/<action>`` is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from govflow.bootstrap.api import Api
from govflow.core.tasks.model import (
    Approve,
    Cancel,
    Claim,
    Close,
    Delete,
    Reactivate,
    Reject,
    Release,
    Start,
    Submit,
    TaskAction,
)
from govflow.core.tasks.vocabulary import TaskActionName
from govflow.http.console.form_inputs import form_inputs, posted_form
from govflow.http.console.pages import BASE, field_errors, redirect, render
from govflow.http.console.viewer import console_of
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.errors import ConflictError, InvalidInputError
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal
from govflow.usecases.task_page import TaskPage, task_page
from govflow.usecases.task_ports import TaskFilter
from govflow.usecases.task_views import Tasks
from govflow.usecases.users import UserFilter


def tasks_of(api: Api) -> Tasks:
    return Tasks(api.services.tasks, api.services.queue)


@dataclass(frozen=True, slots=True)
class Box:
    """One view of the inbox: its key, its label and the filter it lists."""

    key: str
    label: str
    where: TaskFilter


BOXES = (
    Box("assigned", "Assigned to me", TaskFilter(assigned_to_me=True)),
    Box("eligible", "Eligible for me", TaskFilter(eligible_for_me=True)),
    Box("overdue", "Overdue", TaskFilter(overdue=True)),
    Box("department", "My department", TaskFilter()),
)


class TaskPages(Controller):
    path = "/tasks"

    @get("/")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        box: FromQuery[str] = "assigned",
        page: FromQuery[int] = 1,
    ) -> Response[Any]:
        tasks = tasks_of(console_of(request).api)
        chosen = next((b for b in BOXES if b.key == box), BOXES[0])
        wanted = PageRequest(max(1, min(page, 1_000_000)), 25)
        counts: dict[str, int] = {}
        listed = None
        for each in BOXES:
            found = await tasks.search(
                viewer, each.where, wanted if each is chosen else PageRequest(1, 1)
            )
            counts[each.key] = found.total
            if each is chosen:
                listed = found
        context = {"boxes": BOXES, "box": chosen, "counts": counts, "listed": listed}
        return render(request, "tasks/inbox.html", context, viewer=viewer)

    @get("/{task_id:uuid}")
    async def task(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        task_id: FromPath[UUID],
    ) -> Response[Any]:
        return await _task_page(request, viewer, task_id)

    @post("/{task_id:uuid}/{action:str}")
    async def act(
        self,
        request: Request[Any, Any, Any],
        viewer: NamedDependency[Principal],
        task_id: FromPath[UUID],
        action: FromPath[str],
    ) -> Response[Any]:
        if action not in ACTIONS:
            raise NotFoundException()
        api = console_of(request).api
        form = await request.form()
        posted = {key: form.get(key) for key in form}
        here = f"{BASE}/tasks/{task_id}"
        try:
            done = await _carry_out(api, viewer, task_id, action, posted)
        except InvalidInputError as exc:
            errors = _at_fields(action, field_errors(exc.problems))
            return await _task_page(request, viewer, task_id, errors, posted, 400)
        except ForbiddenError as exc:
            return await _task_page(request, viewer, task_id, {"action": str(exc)}, posted, 403)
        except ConflictError as exc:
            return await _task_page(request, viewer, task_id, {"action": str(exc)}, posted, 409)
        return redirect(request, here, done)


ACTIONS = (
    "claim",
    "release",
    "start",
    "submit",
    "approve",
    "reject",
    "delegate",
    "comment",
    "assign",
    "close",
    "cancel",
    "reactivate",
    "delete",
)
"""The actions the task page posts (``/ui/tasks/<id>/<action>``)."""

BUTTONS = {
    TaskActionName.CLAIM: "Claim",
    TaskActionName.RELEASE: "Release",
    TaskActionName.START: "Start",
    TaskActionName.SUBMIT: "Submit",
    TaskActionName.APPROVE: "Approve",
    TaskActionName.REJECT: "Reject",
    TaskActionName.DELEGATE: "Delegate",
    TaskActionName.ASSIGN: "Assign",
    TaskActionName.CLOSE: "Close",
    TaskActionName.CANCEL: "Cancel task",
    TaskActionName.REACTIVATE: "Reactivate",
    TaskActionName.DELETE: "Delete",
}
"""Every action of the lifecycle has its button, shown when ``allowed_actions`` allows it."""


DONE = {
    "claim": "claimed",
    "release": "released",
    "start": "started",
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "close": "closed",
    "cancel": "canceled",
    "reactivate": "reactivated",
    "delete": "deleted",
}

OWN_FIELDS = {
    "assign": {"user_id": "assign_user_id", "reason": "assign_reason"},
    "close": {"reason": "close_reason"},
    "cancel": {"reason": "cancel_reason"},
    "reactivate": {"reason": "reactivate_reason"},
}
"""The page's field for a use case's field, where the action's form has fields of its own (so
that two forms on one page do not share an input's name and id)."""

REASON_MAX_CHARS = 2000
"""As the API's ``reason`` (``govflow.http.tasks.schemas.Reason``)."""


def _at_fields(action: str, errors: dict[str, str]) -> dict[str, str]:
    own = OWN_FIELDS.get(action, {})
    return {own.get(name, name): message for name, message in errors.items()}


def _text(posted: dict[str, Any], name: str) -> str:
    value = posted.get(name)
    return value if isinstance(value, str) else ""


def _reason(posted: dict[str, Any], action: str) -> str:
    """The reason the action's form carries, at most :data:`REASON_MAX_CHARS` long."""
    reason = _text(posted, OWN_FIELDS.get(action, {}).get("reason", "reason"))
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidInputError(
            [("body.reason", f"at most {REASON_MAX_CHARS} characters (got {len(reason)})")]
        )
    return reason


async def _carry_out(
    api: Api, viewer: Principal, task_id: UUID, action: str, posted: dict[str, Any]
) -> str:
    """Carry ``action`` out; the message the next page shows."""
    tasks = tasks_of(api)
    if action == "comment":
        await tasks.comment(viewer, task_id, _text(posted, "text"))
        return "Comment recorded."
    if action in ("delegate", "assign"):
        field = OWN_FIELDS.get(action, {}).get("user_id", "user_id")
        try:
            target = UUID(_text(posted, field))
        except ValueError:
            raise InvalidInputError([("body.user_id", "choose a user")]) from None
        reason = _reason(posted, action)
        delegate = action == "delegate"
        await tasks.hand_over(viewer, task_id, target, reason, delegate=delegate)
        return "Task delegated." if delegate else "Task assigned."
    decided: TaskAction
    if action == "submit":
        task = await tasks.get(viewer, task_id)
        form = posted_form(task.form, posted)
        decided = Submit(form=form, comment=_text(posted, "comment"))
    elif action == "approve":
        decided = Approve(comment=_text(posted, "comment"))
    elif action == "reject":
        decided = Reject(reason=_reason(posted, action))
    elif action == "release":
        decided = Release(reason=_reason(posted, action))
    elif action == "close":
        decided = Close(reason=_reason(posted, action))
    elif action == "cancel":
        decided = Cancel(reason=_reason(posted, action))
    elif action == "reactivate":
        decided = Reactivate(reason=_reason(posted, action))
    elif action == "delete":
        decided = Delete()
    else:
        decided = Claim() if action == "claim" else Start()
    await tasks.act(viewer, task_id, decided)
    return f"Task {DONE[action]}."


async def _task_page(
    request: Request[Any, Any, Any],
    viewer: Principal,
    task_id: UUID,
    errors: dict[str, str] | None = None,
    posted: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    api = console_of(request).api
    page: TaskPage = await task_page(
        api.services.tasks, api.services.execution_admin(), viewer, task_id
    )
    task = page.task
    values: dict[str, Any] = dict(task.submission or {})
    if posted is not None:
        values = posted_form(task.form, posted)
    colleagues = []
    people = []
    if TaskActionName.DELEGATE in page.allowed or TaskActionName.ASSIGN in page.allowed:
        found = await api.users.search(
            UserFilter(department_id=task.department_id, is_active=True), PageRequest(1, 100)
        )
        people = [user for user in found.items if user.id != task.assignee_id]
        colleagues = [user for user in found.items if user.id != viewer.user_id]
    context = {
        "page": page,
        "task": task,
        "allowed": set(page.allowed),
        "A": TaskActionName,
        "inputs": form_inputs(task.form, values),
        "editable": TaskActionName.SUBMIT in page.allowed,
        "colleagues": colleagues,
        "people": people,
        "buttons": BUTTONS,
        "errors": errors or {},
        "posted": posted or {},
    }
    return render(request, "tasks/task.html", context, viewer=viewer, status_code=status_code)
