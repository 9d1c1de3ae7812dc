"""The one transition table of the human-task lifecycle: status x action -> new status.

:func:`govflow.core.tasks.decide.decide_task` looks every action up here before it checks who
acts; a pair missing from the table is refused with ``invalid_state``. Two policy rules refine a
row without adding one: an approval short of the task's quorum (``approvals: N``) is recorded and
leaves the task ``SUBMITTED``; and a decision that ends a ``manual`` step's task (the last
approval, a submit when no review is asked, a reject under ``on_reject: fail``) follows the row
with the ``CLOSE`` row in the same decision. ``docs/human-tasks.md`` draws this table with
:func:`govflow.core.machines.to_mermaid` (a test keeps the drawing in step).
"""

from __future__ import annotations

from govflow.core.machines import Machine
from govflow.core.tasks.vocabulary import TaskActionName, TaskStatus

_S = TaskStatus
_A = TaskActionName

TASK_MACHINE: Machine[TaskStatus, TaskActionName] = Machine(
    name="task",
    statuses=TaskStatus,
    events=TaskActionName,
    initial=_S.OPEN,
    table={
        _S.OPEN: {
            _A.ASSIGN: _S.ASSIGNED,
            _A.CLAIM: _S.ASSIGNED,
            _A.CANCEL: _S.CANCELED,
        },
        _S.ASSIGNED: {
            _A.ASSIGN: _S.ASSIGNED,
            _A.RELEASE: _S.OPEN,
            _A.DELEGATE: _S.ASSIGNED,
            _A.START: _S.IN_PROGRESS,
            _A.CANCEL: _S.CANCELED,
        },
        _S.IN_PROGRESS: {
            _A.ASSIGN: _S.ASSIGNED,
            _A.RELEASE: _S.OPEN,
            _A.DELEGATE: _S.ASSIGNED,
            _A.SUBMIT: _S.SUBMITTED,
            _A.CANCEL: _S.CANCELED,
        },
        _S.SUBMITTED: {
            _A.APPROVE: _S.APPROVED,
            _A.REJECT: _S.REJECTED,
            _A.CLOSE: _S.CLOSED,
            _A.CANCEL: _S.CANCELED,
        },
        _S.REJECTED: {
            _A.ASSIGN: _S.ASSIGNED,
            _A.DELEGATE: _S.ASSIGNED,
            _A.START: _S.IN_PROGRESS,
            _A.CLOSE: _S.CLOSED,
            _A.CANCEL: _S.CANCELED,
        },
        _S.APPROVED: {
            _A.CLOSE: _S.CLOSED,
        },
        _S.CLOSED: {
            _A.DELETE: _S.DELETED,
        },
        _S.CANCELED: {
            _A.REACTIVATE: _S.OPEN,
            _A.DELETE: _S.DELETED,
        },
        _S.DELETED: {},
    },
)
"""The lifecycle: ``OPEN`` is where every task starts (``create`` with a user to assign goes on
to ``ASSIGNED`` through the ``ASSIGN`` row)."""
