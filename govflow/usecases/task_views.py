"""Human tasks as the API and the CLI read them, and the task use cases behind ``/tasks``.

Department scoping as everywhere: a MANAGER or OPERATOR sees its own department's tasks (and
tasks of no department); another department's task is a 404. Soft-deleted tasks are hidden
from lists; ``GET /tasks/{task_id}`` still shows one (``DELETED``), with its records and audit
log, as the soft delete keeps the row and its trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import msgspec

from govflow.core.audit_events import AuditEvent
from govflow.core.roles import Role
from govflow.core.secrets import redacted
from govflow.core.statuses import HumanTaskStatus
from govflow.core.tasks.edit import Edit
from govflow.core.tasks.model import Assign, Delegate, TaskAction
from govflow.core.tasks.notices import EVERY_ON
from govflow.plugins.settings import MASK
from govflow.usecases.access_errors import FieldConflictError
from govflow.usecases.audit import AuditEntry
from govflow.usecases.audit_logs import AuditLogView
from govflow.usecases.errors import InvalidInputError, NotFoundError
from govflow.usecases.paging import Page, PageRequest
from govflow.usecases.ports import StepQueue
from govflow.usecases.principal import Principal, scope_department
from govflow.usecases.task_creation import NewTask, open_task
from govflow.usecases.task_edits import edit_task
from govflow.usecases.task_ports import StoredTask, TaskFilter, TaskRecord, TaskStore
from govflow.usecases.tasks import HUMAN_TASK, act_on_task


class PartyView(msgspec.Struct, frozen=True, kw_only=True):
    """Who a task is offered to, or who reviews it."""

    role: Role | None
    department_id: UUID | None
    users: list[UUID]


class NotifyView(msgspec.Struct, frozen=True, kw_only=True):
    """A channel the task tells about its lifecycle (see ``docs/human-tasks.md``), as shown:
    the events it hears of, and its fields with any credential masked (:func:`notify_view`)."""

    channel: str
    on: list[str]
    level: str | None = None
    url: str | None = None
    secret: str | None = None
    to: list[str] | None = None
    subject: str | None = None


def _masked_url(url: str) -> str:
    """``url`` with the password of its user info masked (``https://bot:***@host/...``)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return MASK
    if not password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}"))


def notify_view(channel: Mapping[str, Any]) -> NotifyView:
    """One stored ``notify`` channel as shown: ``on`` as heard (``assigned`` and ``overdue``
    when the channel names none), a webhook's signing ``secret`` by name as every stored secret
    is shown (``[secret:<name>]``, never a value), a URL's password masked."""
    secret = channel.get("secret")
    url = channel.get("url")
    to = channel.get("to")
    return NotifyView(
        channel=str(channel.get("channel", "")),
        on=[str(word) for word in channel.get("on") or EVERY_ON],
        level=channel.get("level"),
        url=None if url is None else _masked_url(str(url)),
        secret=None if secret is None else redacted(str(secret)),
        to=None if to is None else [str(address) for address in to],
        subject=channel.get("subject"),
    )


class TaskView(msgspec.Struct, frozen=True, kw_only=True):
    """One human task."""

    id: UUID
    title: str
    description: str
    status: HumanTaskStatus
    department_id: UUID | None
    execution_id: UUID | None
    step_id: UUID | None
    assignee_id: UUID | None
    offered_to: PartyView
    reviewers: PartyView | None
    approvals_required: int
    approved_by: list[UUID]
    form: Mapping[str, Any]
    submission: Mapping[str, Any] | None
    submitted_by: UUID | None
    submitted_at: datetime | None
    decision: str | None
    decided_by: UUID | None
    rejections: int
    rejection_reason: str | None
    due_at: datetime | None
    overdue: bool
    notify: list[NotifyView]
    """The channels told about the task, credentials masked (empty: none)."""
    created_at: datetime | None
    updated_at: datetime | None
    version: int


def task_view(task: StoredTask) -> TaskView:
    """The stored task as it is shown."""
    state = task.state
    reviewers = state.policy.reviewers
    return TaskView(
        id=state.id,
        title=state.title,
        description=task.description,
        status=state.status,
        department_id=state.department_id,
        execution_id=task.execution_id,
        step_id=task.step_id,
        assignee_id=state.assignee_id,
        offered_to=PartyView(
            role=state.offer.role,
            department_id=state.offer.department_id,
            users=list(state.offer.users),
        ),
        reviewers=None
        if reviewers is None
        else PartyView(
            role=reviewers.role, department_id=reviewers.department_id, users=list(reviewers.users)
        ),
        approvals_required=state.policy.approvals,
        approved_by=[approval.by for approval in state.approvals],
        form=msgspec.to_builtins(dict(state.policy.form)),
        submission=None if state.submission is None else dict(state.submission),
        submitted_by=state.submitted_by,
        submitted_at=state.submitted_at,
        decision=task.decision,
        decided_by=state.decided_by,
        rejections=state.rejections,
        rejection_reason=state.rejection_reason,
        due_at=state.due_at,
        overdue=state.overdue,
        notify=[notify_view(channel) for channel in state.policy.notify],
        created_at=task.created_at,
        updated_at=state.updated_at,
        version=state.version,
    )


def _visible(task: StoredTask, principal: Principal) -> bool:
    scope = scope_department(principal)
    return scope is None or task.state.department_id in (None, scope)


class Tasks:
    """The ``/tasks`` use cases."""

    def __init__(self, store: TaskStore, queue: StepQueue) -> None:
        self._store = store
        self._queue = queue

    async def create(self, principal: Principal, new: NewTask) -> TaskView:
        """Open a standalone task (see :mod:`govflow.usecases.task_creation`)."""
        opened = await open_task(self._store, principal, new, datetime.now(UTC))
        found = await self._store.get(opened.state.id)
        return task_view(found or opened)

    async def edit(self, principal: Principal, task_id: UUID, edit: Edit, version: int) -> TaskView:
        """Change the task's title, description or deadline, over ``version``."""
        return task_view(await edit_task(self._store, task_id, edit, version, principal))

    async def audit_logs(
        self, principal: Principal, task_id: UUID, page: PageRequest
    ) -> Page[AuditLogView]:
        """The task's audit rows, newest first, paged (the task must be visible)."""
        await self.get(principal, task_id)
        items, total = await self._store.audit_logs(task_id, page)
        return Page(items, total, page)

    async def search(
        self, principal: Principal, wanted: TaskFilter, page: PageRequest
    ) -> Page[TaskView]:
        items, total = await self._store.search(
            scope_department(principal), principal, wanted, page
        )
        return Page([task_view(item) for item in items], total, page)

    async def get(self, principal: Principal, task_id: UUID) -> TaskView:
        found = await self._store.get(task_id)
        if found is None or not _visible(found, principal):
            raise NotFoundError("task not found")
        return task_view(found)

    async def comment(self, principal: Principal, task_id: UUID, text: str) -> TaskRecord:
        """Leave a comment on a task the caller may see (not on a deleted one)."""
        task = await self.get(principal, task_id)
        if task.status == HumanTaskStatus.DELETED:
            raise FieldConflictError("the task is deleted", "status", "invalid_state")
        where = {"task_id": str(task_id)}
        if task.execution_id is not None:
            where["execution_id"] = str(task.execution_id)
        entry = AuditEntry(
            action=AuditEvent.HUMAN_TASK_COMMENTED,
            actor=principal.actor(),
            entity_type=HUMAN_TASK,
            entity_id=str(task_id),
            department_id=task.department_id,
            request_id=principal.request_id,
            reason=text,
            metadata=where,
        )
        await self._store.record([entry])
        records = await self._store.records(task_id)
        return records[-1]

    async def records(self, principal: Principal, task_id: UUID) -> list[TaskRecord]:
        """The task's decisions and comments, oldest first."""
        await self.get(principal, task_id)
        return await self._store.records(task_id)

    async def hand_over(
        self,
        principal: Principal,
        task_id: UUID,
        user_id: UUID,
        reason: str,
        *,
        delegate: bool,
    ) -> TaskView:
        """Assign the task (a manager) or delegate it (its assignee) to ``user_id``.

        The task is looked up first, so another department's task is a 404 whoever is named.
        """
        await self.get(principal, task_id)
        target = await self._store.person(user_id)
        if target is None:
            raise InvalidInputError([("body.user_id", "no such user")])
        action: TaskAction = (
            Delegate(target=target, reason=reason)
            if delegate
            else Assign(target=target, reason=reason)
        )
        return await self.act(principal, task_id, action)

    async def act(self, principal: Principal, task_id: UUID, action: TaskAction) -> TaskView:
        """Carry ``action`` out (see :func:`govflow.usecases.tasks.act_on_task`)."""
        acted = await act_on_task(self._store, self._queue, task_id, action, principal)
        return task_view(acted.task)
