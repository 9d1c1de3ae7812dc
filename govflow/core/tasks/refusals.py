"""Why an action on a human task is refused: a typed error with a stable code and the field.

Error tree::

    TaskRefusal              an action on a task is refused; ``code``, ``field``, ``message``
     ├── TaskStateRefusal    the action is not allowed in the task's status (``invalid_state``,
     │                       ``review_pending``, ``no_review``)
     ├── TaskActorRefusal    the actor may not take this action on this task (``other_department``,
     │                       ``role_forbidden``, ``not_assignee``, ``not_offered``,
     │                       ``not_eligible``, ``not_reviewer``, ``four_eyes``,
     │                       ``starter_cannot_approve``, ``already_approved``, ``step_bound``)
     └── TaskInputRefusal    what came with the action is wrong (``reason_required``,
          │                  ``target_inactive``, ``target_not_eligible``, ``target_unchanged``)
          └── TaskFormRefusal  the submitted form is invalid (``form_invalid``); every problem
                               names its field path (``form.amount``)

The HTTP layer maps ``TaskStateRefusal`` to 409, ``TaskActorRefusal`` to 403 (404 for
``other_department``, as for any other department's resource) and ``TaskInputRefusal`` to 422.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec


class FormProblem(msgspec.Struct, frozen=True):
    """One invalid form field: its path (``form.amount``) and why."""

    path: str
    reason: str


class TaskRefusal(Exception):
    """The action on the task is refused."""

    def __init__(self, code: str, field: str, message: str) -> None:
        self.code = code
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message} ({code})")


class TaskStateRefusal(TaskRefusal):
    """The action is not allowed in the task's current status."""


class TaskActorRefusal(TaskRefusal):
    """The actor may not take this action on this task."""


class TaskInputRefusal(TaskRefusal):
    """What came with the action (reason, target user, form) is not acceptable."""


class TaskFormRefusal(TaskInputRefusal):
    """The submitted form does not fit the task's form fields."""

    def __init__(self, problems: Sequence[FormProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "form_invalid",
            self.problems[0].path,
            "; ".join(f"{problem.path}: {problem.reason}" for problem in self.problems),
        )
