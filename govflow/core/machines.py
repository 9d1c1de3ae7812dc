"""The state machines of executions and steps, as transition tables.

Each machine is data: ``{from_status: {event: to_status}}``. :func:`transition` is the only way
statuses change; a pair missing from the table raises :class:`IllegalTransition`. Terminal
statuses have no way out except explicit operator events (a ``FAILED`` execution can be retried,
a ``CANCELED`` one never leaves). :func:`to_mermaid` draws a machine from its table; the
diagrams in ``docs/engine.md`` are exactly its output (a test keeps them in step).

The human-task lifecycle is a machine of the same kind, its one table in
:mod:`govflow.core.tasks.table`.

Errors::

    ValueError
     └── IllegalTransition
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from govflow.core.statuses import ExecutionStatus, StepStatus

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


class StepEvent(StrEnum):
    """What can happen to a step."""

    CLAIM = "CLAIM"
    COMPLETE = "COMPLETE"
    FAIL_BUSINESS = "FAIL_BUSINESS"
    FAIL_TECHNICAL_RETRY = "FAIL_TECHNICAL_RETRY"
    FAIL_EXHAUSTED = "FAIL_EXHAUSTED"
    SKIP = "SKIP"
    SUSPEND = "SUSPEND"
    """The action waits on a human."""
    RESUME = "RESUME"
    """The human acted and the action runs again."""
    LEASE_EXPIRED = "LEASE_EXPIRED"
    """The worker died mid-attempt and the strategy allows a re-run."""
    CANCEL = "CANCEL"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    OPERATOR_RETRY = "OPERATOR_RETRY"
    OPERATOR_SKIP = "OPERATOR_SKIP"
    OPERATOR_MARK_DONE = "OPERATOR_MARK_DONE"
    HAND_BACK = "HAND_BACK"
    """The claiming worker lacks the action: the step goes back, unstarted, to the fleet."""
    OPERATOR_REOPEN = "OPERATOR_REOPEN"
    """An operator retries a graph's execution: a step its failed branch canceled runs again."""


class ExecutionEvent(StrEnum):
    """What can happen to an execution."""

    START = "START"
    STEP_WAITING = "STEP_WAITING"
    RESUME = "RESUME"
    COMPLETE = "COMPLETE"
    FAIL = "FAIL"
    CANCEL = "CANCEL"
    NEEDS_ATTENTION = "NEEDS_ATTENTION"
    OPERATOR_RETRY = "OPERATOR_RETRY"
    OPERATOR_RESOLVE = "OPERATOR_RESOLVE"
    """An operator skipped or marked done the step that needed attention."""
    TIME_OUT = "TIME_OUT"
    """The execution ran longer than its workflow's ``timeout`` (the sweeper fails it)."""


@dataclass(frozen=True)
class Machine(Generic[S, E]):
    """A named transition table over one status enum and one event enum."""

    name: str
    statuses: type[S]
    events: type[E]
    initial: S
    table: Mapping[S, Mapping[E, S]]

    def allowed(self, status: S) -> Mapping[E, S]:
        """The events allowed from ``status`` and where each leads."""
        return self.table.get(status, {})


class IllegalTransition(ValueError):
    """An event that the machine does not allow from the current status."""

    def __init__(self, machine: str, status: StrEnum, event: StrEnum) -> None:
        self.machine = machine
        self.status = status
        self.event = event
        super().__init__(
            f"{machine}: event {event.value} is not allowed from status {status.value}"
        )


def transition(machine: Machine[S, E], status: S, event: E) -> S:
    """Return the status ``event`` leads to from ``status``, or raise IllegalTransition."""
    target = machine.allowed(status).get(event)
    if target is None:
        raise IllegalTransition(machine.name, status, event)
    return target


_ES = ExecutionStatus
_EE = ExecutionEvent
EXECUTION_MACHINE: Machine[ExecutionStatus, ExecutionEvent] = Machine(
    name="execution",
    statuses=ExecutionStatus,
    events=ExecutionEvent,
    initial=_ES.PENDING,
    table={
        _ES.PENDING: {
            _EE.START: _ES.RUNNING,
            _EE.FAIL: _ES.FAILED,
            _EE.CANCEL: _ES.CANCELED,
            _EE.TIME_OUT: _ES.FAILED,
        },
        _ES.RUNNING: {
            _EE.STEP_WAITING: _ES.WAITING,
            _EE.COMPLETE: _ES.COMPLETED,
            _EE.FAIL: _ES.FAILED,
            _EE.CANCEL: _ES.CANCELED,
            _EE.NEEDS_ATTENTION: _ES.NEEDS_ATTENTION,
            _EE.TIME_OUT: _ES.FAILED,
        },
        _ES.WAITING: {
            _EE.RESUME: _ES.RUNNING,
            _EE.FAIL: _ES.FAILED,
            _EE.CANCEL: _ES.CANCELED,
            _EE.TIME_OUT: _ES.FAILED,
        },
        _ES.NEEDS_ATTENTION: {
            _EE.OPERATOR_RETRY: _ES.RUNNING,
            _EE.OPERATOR_RESOLVE: _ES.RUNNING,
            _EE.CANCEL: _ES.CANCELED,
            _EE.TIME_OUT: _ES.FAILED,
        },
        _ES.FAILED: {
            _EE.OPERATOR_RETRY: _ES.RUNNING,
        },
        _ES.COMPLETED: {},
        _ES.CANCELED: {},
    },
)

_SS = StepStatus
_SE = StepEvent
STEP_MACHINE: Machine[StepStatus, StepEvent] = Machine(
    name="step",
    statuses=StepStatus,
    events=StepEvent,
    initial=_SS.PENDING,
    table={
        _SS.PENDING: {
            _SE.CLAIM: _SS.RUNNING,
            _SE.SKIP: _SS.SKIPPED,
            _SE.CANCEL: _SS.CANCELED,
        },
        _SS.RUNNING: {
            _SE.COMPLETE: _SS.COMPLETED,
            _SE.SKIP: _SS.SKIPPED,
            _SE.FAIL_BUSINESS: _SS.FAILED,
            _SE.FAIL_TECHNICAL_RETRY: _SS.PENDING,
            _SE.FAIL_EXHAUSTED: _SS.FAILED,
            _SE.SUSPEND: _SS.WAITING,
            _SE.LEASE_EXPIRED: _SS.PENDING,
            _SE.HAND_BACK: _SS.PENDING,
            _SE.NEEDS_ATTENTION: _SS.NEEDS_ATTENTION,
            _SE.CANCEL: _SS.CANCELED,
        },
        _SS.WAITING: {
            _SE.RESUME: _SS.RUNNING,
            _SE.COMPLETE: _SS.COMPLETED,
            _SE.FAIL_BUSINESS: _SS.FAILED,
            _SE.CANCEL: _SS.CANCELED,
        },
        _SS.NEEDS_ATTENTION: {
            _SE.OPERATOR_RETRY: _SS.PENDING,
            _SE.OPERATOR_SKIP: _SS.SKIPPED,
            _SE.OPERATOR_MARK_DONE: _SS.COMPLETED,
            _SE.CANCEL: _SS.CANCELED,
        },
        _SS.FAILED: {
            _SE.OPERATOR_RETRY: _SS.PENDING,
        },
        _SS.COMPLETED: {},
        _SS.SKIPPED: {},
        _SS.CANCELED: {
            _SE.OPERATOR_REOPEN: _SS.PENDING,
        },
    },
)

MACHINES: tuple[Machine[Any, Any], ...] = (EXECUTION_MACHINE, STEP_MACHINE)
"""The engine's machines, in the order ``docs/engine.md`` shows them (the human-task lifecycle's
table is :data:`govflow.core.tasks.table.TASK_MACHINE`, drawn in ``docs/human-tasks.md``)."""


def to_mermaid(machine: Machine[Any, Any]) -> str:
    """Draw ``machine`` as a mermaid ``stateDiagram-v2`` with one labelled edge per transition.

    Statuses with no way out get an edge to the end state. The output is deterministic: it
    follows the declaration order of the statuses and of the events.
    """
    lines = ["stateDiagram-v2", f"    [*] --> {machine.initial.value}"]
    for status in machine.statuses:
        outgoing = machine.allowed(status)
        lines.extend(
            f"    {status.value} --> {outgoing[event].value}: {event.value}"
            for event in machine.events
            if event in outgoing
        )
        if not outgoing:
            lines.append(f"    {status.value} --> [*]")
    return "\n".join(lines) + "\n"
