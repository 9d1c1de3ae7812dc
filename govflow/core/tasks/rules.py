"""Who may act on a task: the checks :func:`govflow.core.tasks.decide.decide_task` composes.

Each check returns nothing or raises a :class:`TaskRefusal` with a stable code. The rules:

- Department scope: a MANAGER or OPERATOR acts only on its own department's tasks (ADMIN and the
  system everywhere; a task without a department is everyone's).
- Managers (ADMIN, MANAGER, the system) assign, close, cancel, reactivate, delete and release.
- The assignee starts, submits, delegates and releases; a user matching the task's offer
  (role and/or department) claims an open task.
- Reviewers: ADMIN, or a member of the task's ``reviewers``; never the submitter (four-eyes),
  never the execution's starter under ``starter_cannot_approve``, each at most once per
  submission; the system never reviews.
"""

from __future__ import annotations

from govflow.core.roles import Role
from govflow.core.tasks.model import TaskActor, TaskState, TaskUser
from govflow.core.tasks.refusals import TaskActorRefusal, TaskInputRefusal, TaskStateRefusal


def check_department(task: TaskState, actor: TaskActor) -> None:
    """Refuse an actor of another department (``other_department``; the API answers 404)."""
    if actor.system or actor.role == Role.ADMIN or task.department_id is None:
        return
    if actor.department_id != task.department_id:
        raise TaskActorRefusal("other_department", "task", "the task belongs to another department")


def is_manager(actor: TaskActor) -> bool:
    """ADMIN, MANAGER (department already checked) or the system."""
    return actor.system or actor.role in Role.MANAGERS


def require_manager(actor: TaskActor) -> None:
    """Refuse anyone but ADMIN, MANAGER or the system (``role_forbidden``)."""
    if is_manager(actor):
        return
    raise TaskActorRefusal(
        "role_forbidden", "role", f"a {actor.role.value} may not do this to the task"
    )


def require_assignee(task: TaskState, actor: TaskActor) -> None:
    """Refuse anyone but the task's assignee (``not_assignee``)."""
    if actor.user_id is None or actor.user_id != task.assignee_id:
        raise TaskActorRefusal("not_assignee", "assignee", "only the task's assignee may do this")


def refuse_step_bound(task: TaskState, actor: TaskActor, what: str) -> None:
    """Refuse a person acting on a step's task where only the engine may (``step_bound``)."""
    if task.step_bound and not actor.system:
        raise TaskActorRefusal("step_bound", "task", f"a workflow step's task {what}")


def require_offered(task: TaskState) -> None:
    """Refuse claim and self-release on a task offered to nobody (``not_offered``)."""
    if not task.offer.is_group and not task.offer.users:
        raise TaskActorRefusal(
            "not_offered", "task", "the task is not offered to a user, role or department"
        )


def require_eligible_claimer(task: TaskState, actor: TaskActor) -> None:
    """Refuse a claimer outside the task's offer (``not_eligible``)."""
    require_offered(task)
    if actor.system or not task.offer.includes(actor.user_id, actor.role, actor.department_id):
        raise TaskActorRefusal(
            "not_eligible", "task", "the task is not offered to this user, role or department"
        )


def check_target(task: TaskState, target: TaskUser) -> None:
    """Refuse an inactive target, one outside the task's department (an ADMIN is in every one)
    or its offer, or the current assignee."""
    if not target.active:
        raise TaskInputRefusal("target_inactive", "target", "the user is not active")
    in_department = (
        task.department_id is None
        or target.role == Role.ADMIN
        or target.department_id == task.department_id
    )
    eligible = in_department
    if task.offer.is_group:
        eligible = in_department and task.offer.includes(
            target.user_id, target.role, target.department_id
        )
    if not eligible:
        raise TaskInputRefusal(
            "target_not_eligible", "target", "the user may not work on this task"
        )
    if target.user_id == task.assignee_id:
        raise TaskInputRefusal("target_unchanged", "target", "the user already has the task")


def check_reviewer(task: TaskState, actor: TaskActor) -> None:
    """Refuse anyone who may not approve or reject the current submission."""
    reviewers = task.policy.reviewers
    if reviewers is None:
        raise TaskStateRefusal("no_review", "status", "the task asks for no review")
    eligible = not actor.system and (
        actor.role == Role.ADMIN
        or reviewers.includes(actor.user_id, actor.role, actor.department_id)
    )
    if not eligible:
        raise TaskActorRefusal(
            "not_reviewer", "reviewers", "the user is not a reviewer of the task"
        )
    if actor.user_id == task.submitted_by:
        raise TaskActorRefusal("four_eyes", "submitted_by", "the submitter may not review")
    if task.policy.starter_cannot_approve and actor.user_id == task.started_by:
        raise TaskActorRefusal(
            "starter_cannot_approve", "started_by", "who started the execution may not review"
        )


def require_reason(reason: str) -> str:
    """The stripped reason, or ``reason_required``."""
    text = reason.strip()
    if not text:
        raise TaskInputRefusal("reason_required", "reason", "a reason is required")
    return text
