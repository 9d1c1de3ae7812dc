"""Opening a standalone task (``POST /tasks``): an ADMIN, or a MANAGER in its own department,
opens a task outside any workflow; it follows the same lifecycle as a step's task, and a close
ends it.

The request is checked against storage first (the department and every user it names must
exist), then :func:`govflow.core.tasks.decide.create_task` decides: the task starts ``OPEN``
(offered to its ``offered_to``) or, with an ``assignee_id``, goes on to ``ASSIGNED`` through
the table's ``ASSIGN`` row. The task and its ``HUMAN_TASK_CREATED`` (and ``HUMAN_TASK_ASSIGNED``)
records are stored in one transaction. Every problem names its request field (``body.title``,
``body.offered_to.users[1]``, ``body.assignee_id``).

``on_reject``: ``rework`` (the default) sends a rejected submission back to its assignee;
``fail`` makes the rejection final: with no step to fail, the task is closed by it.

``notify`` names the notification channels that hear of the task, as a ``manual`` step's
``notify`` does (:class:`NotifyChannel`); the task's creation notices (``on: created``) are
stored with it, on a savepoint: a failure to store them is logged and counted, and the task is
opened all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from govflow.core.tasks.decide import create_task
from govflow.core.tasks.forms import FormField
from govflow.core.tasks.model import (
    Notify,
    OnReject,
    Party,
    RecordAudit,
    TaskDecision,
    TaskPolicy,
    TaskState,
    TaskUser,
)
from govflow.core.tasks.notices import EmailSubject, Notice, notices_for, task_channels
from govflow.core.tasks.refusals import TaskActorRefusal, TaskInputRefusal, TaskRefusal
from govflow.core.tasks.vocabulary import TaskStatus
from govflow.usecases.access_errors import ForbiddenError
from govflow.usecases.audit import Actor, AuditEntry
from govflow.usecases.errors import InvalidInputError
from govflow.usecases.principal import Principal
from govflow.usecases.task_ports import StoredTask, TaskStore
from govflow.usecases.tasks import HUMAN_TASK, task_actor

log = logging.getLogger("govflow.tasks.notifications")

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
NotifyOn = Literal["created", "assigned", "claimed", "submitted", "rejected", "canceled", "overdue"]
Email = Annotated[str, msgspec.Meta(pattern=EMAIL_PATTERN, max_length=320)]
CHANNEL_FIELDS = {"log": ("level",), "webhook": ("url", "secret"), "email": ("to", "subject")}
"""The fields each channel takes (the others are refused)."""
CHANNEL_REQUIRES = {"log": (), "webhook": ("url",), "email": ()}
MAX_CHANNELS = 10


class NotifyChannel(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A ``notify`` channel of a standalone task: the ``manual`` step's ``notify`` entry.

    ``on`` lists the events it hears of (``assigned`` and ``overdue`` when left out); ``email``
    goes to ``to`` when given, else to the people a notice is about; ``webhook`` posts to
    ``url`` (on the notification plugin's allowlist), signed with the secret named ``secret``;
    ``log`` writes a line at ``level``.
    """

    channel: Literal["log", "webhook", "email"]
    on: Annotated[list[NotifyOn], msgspec.Meta(min_length=1, max_length=7)] | None = None
    level: Literal["debug", "info", "warning", "error"] | None = None
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    secret: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] | None = None
    to: Annotated[list[Email], msgspec.Meta(min_length=1, max_length=50)] | None = None
    subject: EmailSubject | None = None

    def problems(self, where: str) -> list[tuple[str, str]]:
        """What the schema cannot say: the fields the channel needs, and refuses."""
        found = [
            (f"{where}.{name}", f"the {self.channel} channel needs `{name}`")
            for name in CHANNEL_REQUIRES[self.channel]
            if getattr(self, name) is None
        ]
        found.extend(
            (f"{where}.{name}", f"`{name}` does not apply to the {self.channel} channel")
            for channel, names in CHANNEL_FIELDS.items()
            if channel != self.channel
            for name in names
            if getattr(self, name) is not None
        )
        return found

    def stored(self) -> dict[str, Any]:
        """The channel as a task keeps it (the fields given)."""
        return {key: value for key, value in msgspec.to_builtins(self).items() if value is not None}


class NewTask(msgspec.Struct, frozen=True, kw_only=True):
    """A standalone task as asked for.

    :ivar department_id: the task's department; ``None``, the caller's.
    :ivar assignee_id: a user who gets the task at once (it must be active and eligible).
    :ivar offered_to: who may claim it (listed users, and/or a role and/or a department).
    :ivar reviewers: who approves or rejects a submission; ``None``, no review (the task waits
        for a close once submitted).
    :ivar due_at: the deadline; or ``due_in`` from now (not both).
    """

    title: str
    description: str = ""
    department_id: UUID | None = None
    assignee_id: UUID | None = None
    offered_to: Party = Party()
    reviewers: Party | None = None
    approvals: int = 1
    on_reject: OnReject = OnReject.REWORK
    form: Mapping[str, FormField] = msgspec.field(default_factory=dict)
    due_at: datetime | None = None
    due_in: timedelta | None = None
    escalate_to: Party | None = None
    notify: tuple[NotifyChannel, ...] = ()


def _parties(new: NewTask) -> list[tuple[str, Party]]:
    named = [("offered_to", new.offered_to)]
    if new.reviewers is not None:
        named.append(("reviewers", new.reviewers))
    if new.escalate_to is not None:
        named.append(("escalate_to", new.escalate_to))
    return named


def _shape_problems(new: NewTask, now: datetime) -> list[tuple[str, str]]:
    """What is wrong with the request on its own (no storage needed)."""
    problems: list[tuple[str, str]] = []
    if not new.title.strip():
        problems.append(("body.title", "a task needs a title"))
    if new.due_at is not None and new.due_in is not None:
        problems.append(("body.due_in", "give due_at or due_in, not both"))
    elif new.due_at is not None and new.due_at <= now:
        problems.append(("body.due_at", "the deadline must lie in the future"))
    elif new.due_in is not None and new.due_in <= timedelta(0):
        problems.append(("body.due_in", "the deadline must lie in the future"))
    if new.approvals > 1 and new.reviewers is None:
        problems.append(("body.approvals", "more than one approval asks for reviewers"))
    for name, party in _parties(new):
        if name != "offered_to" and not party.is_group and not party.users:
            problems.append((f"body.{name}", "names nobody (give users, a role or a department)"))
        if len(set(party.users)) != len(party.users):
            problems.append((f"body.{name}.users", "lists a user twice"))
    if len(new.notify) > MAX_CHANNELS:
        problems.append(("body.notify", f"names at most {MAX_CHANNELS} channels"))
    for index, channel in enumerate(new.notify):
        problems.extend(channel.problems(f"body.notify[{index}]"))
    return problems


async def _reference_problems(store: TaskStore, new: NewTask) -> list[tuple[str, str]]:
    """Departments and users the request names that do not exist."""
    problems: list[tuple[str, str]] = []
    departments = [("body.department_id", new.department_id)] + [
        (f"body.{name}.department_id", party.department_id) for name, party in _parties(new)
    ]
    for field, department_id in departments:
        if department_id is not None and not await store.department_exists(department_id):
            problems.append((field, "no such department"))
    named = [user for _, party in _parties(new) for user in party.users]
    known = await store.known_users(named)
    for name, party in _parties(new):
        problems.extend(
            (f"body.{name}.users[{index}]", "no such user")
            for index, user in enumerate(party.users)
            if user not in known
        )
    return problems


class OtherDepartmentError(ForbiddenError):
    """A MANAGER opens tasks in its own department only."""

    def __init__(self) -> None:
        super().__init__("a MANAGER opens tasks in its own department only")
        self.problems = [("body.department_id", "not the caller's department (other_department)")]


def _department_refused() -> ForbiddenError:
    return OtherDepartmentError()


def _refused(refusal: TaskRefusal) -> Exception:
    """The error a refusal of the creation is answered with."""
    if isinstance(refusal, TaskInputRefusal):
        return InvalidInputError([("body.assignee_id", f"{refusal.message} ({refusal.code})")])
    if isinstance(refusal, TaskActorRefusal) and refusal.code == "other_department":
        return _department_refused()
    return ForbiddenError(f"{refusal.field}: {refusal.message} ({refusal.code})")


def _audit(task: TaskState, decision: TaskDecision, actor: Actor) -> list[AuditEntry]:
    where: dict[str, Any] = {"task_id": str(task.id)}
    return [
        AuditEntry(
            action=command.event,
            actor=actor,
            entity_type=HUMAN_TASK,
            entity_id=str(task.id),
            department_id=task.department_id,
            reason=command.reason,
            metadata={**where, **msgspec.to_builtins(dict(command.data))},
        )
        for command in decision.commands
        if isinstance(command, RecordAudit)
    ]


async def _assignee(store: TaskStore, user_id: UUID | None) -> TaskUser | None:
    if user_id is None:
        return None
    found = await store.person(user_id)
    if found is None:
        raise InvalidInputError([("body.assignee_id", "no such user")])
    return found


async def open_task(
    store: TaskStore, principal: Principal, new: NewTask, now: datetime
) -> StoredTask:
    """Open ``new`` for ``principal`` at ``now``; the task as stored (see the module)."""
    problems = _shape_problems(new, now)
    if not problems:
        problems = await _reference_problems(store, new)
    if problems:
        raise InvalidInputError(problems)
    assignee = await _assignee(store, new.assignee_id)
    department_id = new.department_id if new.department_id else principal.department_id
    if department_id is None and not principal.is_admin:
        raise _department_refused()
    state = TaskState(
        id=await store.new_task_id(),
        status=TaskStatus.OPEN,
        title=new.title.strip(),
        department_id=department_id,
        policy=TaskPolicy(
            reviewers=new.reviewers,
            approvals=new.approvals,
            on_reject=new.on_reject,
            form=new.form,
            escalate_to=new.escalate_to,
            notify=tuple(channel.stored() for channel in new.notify),
        ),
        step_bound=False,
        offer=new.offered_to,
    )
    due_in = new.due_in if new.due_at is None else new.due_at - now
    try:
        decision = create_task(state, task_actor(principal), now, assignee=assignee, due_in=due_in)
    except TaskRefusal as refusal:
        raise _refused(refusal) from None
    task = StoredTask(
        state=decision.state, execution_id=None, step_id=None, description=new.description
    )
    notices = _notices(store, decision)
    await store.insert(task, _audit(decision.state, decision, principal.actor()), notices)
    return task


def _notices(store: TaskStore, decision: TaskDecision) -> list[Notice]:
    """The creation's notices; none, logged and counted, if they cannot be made."""
    try:
        return notices_for(decision, task_channels(decision.state))
    except Exception:
        whys = sorted({c.why for c in decision.commands if isinstance(c, Notify)})
        log.exception("the %s notices of task %s were not made", whys, decision.state.id)
        for why in whys:
            store.notice_metrics.not_stored(why)
        return []
