"""``/tasks`` endpoints: open a standalone task, list, read, edit, soft-delete, and the
lifecycle's actions.

Opening, editing, deleting, closing, canceling and reactivating are for ADMIN and MANAGER
(the lifecycle lets nobody else); every role may call the other routes, and the task's
lifecycle (``govflow/core/tasks``) decides who may take which action on which task: 403 names
the rule (``four_eyes``, ``not_assignee``...), 409 an action the task's status does not allow
(or a concurrent decision that came first), 400 a form field or the user named. Another
department's task is a 404.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from govflow.bootstrap.api import Api
from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.model import Delete, TaskAction
from govflow.http.envelope import Envelope, PagedEnvelope, ok, paged
from govflow.http.idempotency import idempotent
from govflow.http.policy import ALL_ROLES, roles
from govflow.http.tasks.schemas import (
    ApproveIn,
    CommentIn,
    EmptyIn,
    HandOverIn,
    ReasonIn,
    RejectIn,
    ReleaseIn,
    SubmitIn,
    TaskCreateIn,
    TaskUpdateIn,
)
from govflow.usecases.audit_logs import AuditLogView
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.paging import PageRequest
from govflow.usecases.principal import Principal, Role
from govflow.usecases.task_ports import TaskFilter, TaskRecord
from govflow.usecases.task_views import Tasks, TaskView


def _tasks(api: Api) -> Tasks:
    return Tasks(api.services.tasks, api.services.queue)


async def _act(api: Api, principal: Principal, task_id: UUID, action: TaskAction) -> TaskView:
    return await _tasks(api).act(principal, task_id, action)


MANAGERS = (Role.ADMIN, Role.MANAGER)
"""Who may open, edit, delete, close, cancel and reactivate a task."""


class TasksController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get("/", operation_id="listTasks", **roles(*ALL_ROLES))
    async def list_tasks(
        self,
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
        assigned_to_me: FromQuery[bool] = False,
        eligible_for_me: FromQuery[bool] = False,
        status: FromQuery[list[HumanTaskStatus] | None] = None,
        execution_id: FromQuery[UUID | None] = None,
        workflow_id: FromQuery[UUID | None] = None,
        department_id: FromQuery[UUID | None] = None,
        overdue: FromQuery[bool | None] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[TaskView]:
        """Tasks in the caller's department (every department for an ADMIN), newest first;
        ``status`` may be repeated (any of them)."""
        wanted = TaskFilter(
            assigned_to_me=assigned_to_me,
            eligible_for_me=eligible_for_me,
            statuses=tuple(status or ()),
            execution_id=execution_id,
            workflow_id=workflow_id,
            department_id=department_id,
            overdue=overdue,
        )
        return paged(await _tasks(api).search(principal, wanted, PageRequest(page, limit)))

    @idempotent
    @post("/", operation_id="createTask", status_code=HTTP_201_CREATED, **roles(*MANAGERS))
    async def create_task(
        self,
        data: JSONBody[TaskCreateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Open a standalone task (a MANAGER in its own department): ``OPEN``, or ``ASSIGNED``
        when ``assignee_id`` names its user. Honours ``Idempotency-Key``."""
        problems = data.problems()
        if problems:
            raise InvalidInputError(problems)
        return ok(await _tasks(api).create(principal, data.to_new()), "Task created")

    @patch("/{task_id:uuid}", operation_id="updateTask", **roles(*MANAGERS))
    async def update_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[TaskUpdateIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Change the title, description or deadline (never the status), over the ``version``
        read: 409 naming ``body.version`` when the task moved on since."""
        tasks = _tasks(api)
        if not data.names_a_field:
            await tasks.get(principal, task_id)
            raise InvalidInputError([("body", "name at least one of title, description, due_at")])
        edited = await tasks.edit(principal, task_id, data.to_edit(), data.version)
        return ok(edited, "Task updated")

    @delete(
        "/{task_id:uuid}", operation_id="deleteTask", status_code=HTTP_200_OK, **roles(*MANAGERS)
    )
    async def delete_task(
        self,
        task_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Soft-delete a closed or canceled task: ``DELETED``, kept with its audit trail, left
        out of lists."""
        return ok(await _act(api, principal, task_id, Delete()), "Task deleted")

    @get("/{task_id:uuid}/audit_logs", operation_id="listTaskAuditLogs", **roles(*ALL_ROLES))
    async def list_task_audit_logs(
        self,
        task_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> PagedEnvelope[AuditLogView]:
        """The task's audit log entries, newest first, as ``GET /audit-logs`` shows them."""
        found = await _tasks(api).audit_logs(principal, task_id, PageRequest(page, limit))
        return paged(found)

    @get("/{task_id:uuid}", operation_id="getTask", **roles(*ALL_ROLES))
    async def get_task(
        self,
        task_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """One task; another department's is a 404."""
        return ok(await _tasks(api).get(principal, task_id))

    @get("/{task_id:uuid}/records", operation_id="listTaskRecords", **roles(*ALL_ROLES))
    async def list_task_records(
        self,
        task_id: FromPath[UUID],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[list[TaskRecord]]:
        """The task's decisions and comments, oldest first."""
        return ok(await _tasks(api).records(principal, task_id))

    @idempotent
    @post(
        "/{task_id:uuid}/comment",
        operation_id="commentTask",
        status_code=HTTP_201_CREATED,
        **roles(*ALL_ROLES),
    )
    async def comment_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[CommentIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskRecord]:
        """Leave a comment on the task (anyone who may see it)."""
        return ok(await _tasks(api).comment(principal, task_id, data.text), "Comment recorded")

    @post(
        "/{task_id:uuid}/claim",
        operation_id="claimTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def claim_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[EmptyIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Take an open task offered to the caller's role or department."""
        return ok(await _act(api, principal, task_id, data.to_claim()), "Task claimed")

    @post(
        "/{task_id:uuid}/assign",
        operation_id="assignTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def assign_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[HandOverIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """A manager gives the task to one eligible user (a reassign if it had an assignee)."""
        assigned = await _tasks(api).hand_over(
            principal, task_id, data.user_id, data.reason, delegate=False
        )
        return ok(assigned, "Task assigned")

    @post(
        "/{task_id:uuid}/delegate",
        operation_id="delegateTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def delegate_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[HandOverIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """The assignee hands the task to another eligible user."""
        delegated = await _tasks(api).hand_over(
            principal, task_id, data.user_id, data.reason, delegate=True
        )
        return ok(delegated, "Task delegated")

    @post(
        "/{task_id:uuid}/release",
        operation_id="releaseTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def release_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[ReleaseIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Give the task back to its offer (its assignee, or a manager)."""
        return ok(await _act(api, principal, task_id, data.to_action()), "Task released")

    @post(
        "/{task_id:uuid}/start",
        operation_id="startTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def start_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[EmptyIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """The assignee starts (or, after a rejection, restarts) the work."""
        return ok(await _act(api, principal, task_id, data.to_start()), "Task started")

    @post(
        "/{task_id:uuid}/submit",
        operation_id="submitTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def submit_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[SubmitIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """The assignee submits the form; with no review asked, the step completes."""
        return ok(await _act(api, principal, task_id, data.to_action()), "Task submitted")

    @post(
        "/{task_id:uuid}/approve",
        operation_id="approveTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def approve_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[ApproveIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """A reviewer approves; the last approval needed completes the step."""
        return ok(await _act(api, principal, task_id, data.to_action()), "Task approved")

    @post(
        "/{task_id:uuid}/reject",
        operation_id="rejectTask",
        status_code=HTTP_200_OK,
        **roles(*ALL_ROLES),
    )
    async def reject_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[RejectIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """A reviewer sends the submission back with a reason (or fails the step)."""
        return ok(await _act(api, principal, task_id, data.to_action()), "Task rejected")

    @post(
        "/{task_id:uuid}/close",
        operation_id="closeTask",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def close_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[ReasonIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """End a standalone task once decided (approved, rejected, or submitted without
        review): ``CLOSED``."""
        return ok(await _act(api, principal, task_id, data.to_close()), "Task closed")

    @post(
        "/{task_id:uuid}/cancel",
        operation_id="cancelTask",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def cancel_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[ReasonIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Call a standalone task off: ``CANCELED`` (a step's task goes with its execution)."""
        return ok(await _act(api, principal, task_id, data.to_cancel()), "Task canceled")

    @post(
        "/{task_id:uuid}/reactivate",
        operation_id="reactivateTask",
        status_code=HTTP_200_OK,
        **roles(*MANAGERS),
    )
    async def reactivate_task(
        self,
        task_id: FromPath[UUID],
        data: JSONBody[ReasonIn],
        api: NamedDependency[Api],
        principal: NamedDependency[Principal],
    ) -> Envelope[TaskView]:
        """Open a canceled standalone task again: ``OPEN``, nobody assigned, nothing submitted."""
        return ok(await _act(api, principal, task_id, data.to_reactivate()), "Task reactivated")
