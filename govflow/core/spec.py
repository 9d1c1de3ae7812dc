"""The workflow spec model: what a valid workflow file decodes into.

Every Struct is frozen and refuses unknown keys. Durations stay strings (as written) and are
checked against :data:`~govflow.core.durations.DURATION_PATTERN`; the ``*_delta`` helpers turn
them into :class:`~datetime.timedelta`. Keys ``with`` and ``if`` are Python keywords, so the
attributes are ``with_`` and ``if_``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec

from govflow.core.durations import DURATION_PATTERN, parse_duration
from govflow.core.secrets import SECRET_NAME_PATTERN
from govflow.core.topology import dependency_order
from govflow.core.trigger_spec import BODY_PATH_PATTERN, Triggers

NAME_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
DEPARTMENT_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
STEP_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
INPUT_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"
VAR_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,63}$"

Duration = Annotated[
    str,
    msgspec.Meta(
        pattern=DURATION_PATTERN, description="A duration: 500ms, 30s, 5m, 2h, 2d, 1h30m."
    ),
]
WorkflowName = Annotated[
    str,
    msgspec.Meta(
        pattern=NAME_PATTERN,
        max_length=64,
        description="Unique workflow name: lowercase letters, digits and dashes.",
    ),
]
DepartmentCode = Annotated[
    str,
    msgspec.Meta(pattern=DEPARTMENT_PATTERN, max_length=64, description="Owning department code."),
]
StepId = Annotated[
    str,
    msgspec.Meta(
        pattern=STEP_ID_PATTERN,
        max_length=64,
        description="Step identifier: a lowercase letter, then letters, digits or underscores.",
    ),
]
VarName = Annotated[
    str,
    msgspec.Meta(
        pattern=VAR_NAME_PATTERN,
        description="A variable name: lowercase letters, digits and underscores (at most 64).",
    ),
]
OutputType = Literal["string", "integer", "number", "boolean", "array", "object"]
InputType = Literal["string", "integer", "number", "boolean", "enum", "array", "object"]
ItemType = Literal["string", "integer", "number", "boolean", "object"]
Backoff = Literal["exponential", "fixed"]
Count = Annotated[int, msgspec.Meta(ge=0)]
Scalar = str | int | float | bool

PATTERN_MESSAGES: dict[str, str] = {
    DURATION_PATTERN: "expected a duration like 30s, 5m or 2d, got {value!r}",
    NAME_PATTERN: "expected lowercase letters, digits and dashes (like 'building-permit'), "
    "got {value!r}",
    DEPARTMENT_PATTERN: "expected a department code of lowercase letters, digits, dashes or "
    "underscores, got {value!r}",
    INPUT_NAME_PATTERN: "expected an input name of lowercase letters, digits and underscores, "
    "got {value!r}",
    VAR_NAME_PATTERN: "expected a variable name of at most 64 lowercase letters, digits and "
    "underscores, got {value!r}",
    STEP_ID_PATTERN: "expected a step id of lowercase letters, digits and underscores, starting "
    "with a letter (like 'send_notice'), got {value!r}",
    SECRET_NAME_PATTERN: "expected a secret name of uppercase letters, digits and underscores "
    "(like 'PERMIT_HOOK'), got {value!r}",
    BODY_PATH_PATTERN: "expected a path into the JSON body like 'body.issue.key', got {value!r}",
}
"""Author-facing messages for values that miss one of the spec's patterns."""


class InputSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One typed input of a workflow, checked when an execution starts."""

    type: InputType
    required: bool | None = None
    default: Any | msgspec.UnsetType = msgspec.UNSET
    description: str = ""
    pattern: str | None = None
    min_length: Count | None = None
    max_length: Count | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    min_items: Count | None = None
    max_items: Count | None = None
    values: list[Scalar] | None = None
    items: ItemType | None = None

    @property
    def is_required(self) -> bool:
        """Required unless said otherwise or given a default."""
        if self.required is not None:
            return self.required
        return self.default is msgspec.UNSET


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a failed attempt is retried (technical errors and timeouts only)."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    backoff: Backoff = "exponential"
    initial_delay: Duration = "1s"
    max_delay: Duration = "5m"
    jitter: bool = True

    @property
    def initial_delay_delta(self) -> timedelta:
        """``initial_delay`` as a timedelta."""
        return parse_duration(self.initial_delay)

    @property
    def max_delay_delta(self) -> timedelta:
        """``max_delay`` as a timedelta."""
        return parse_duration(self.max_delay)


class StepRetry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A step's changes to the workflow's default retry policy; unset keys are inherited."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    backoff: Backoff | None = None
    initial_delay: Duration | None = None
    max_delay: Duration | None = None
    jitter: bool | None = None

    def apply_to(self, policy: RetryPolicy) -> RetryPolicy:
        """``policy`` with this step's keys replacing the ones it sets."""
        changes = {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not None
        }
        return msgspec.structs.replace(policy, **changes)


class Defaults(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What every step gets unless it says otherwise."""

    retry: RetryPolicy = msgspec.field(default_factory=RetryPolicy)
    timeout: Duration = "5m"


class CompensationSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A step's compensation: an action run with the (templated) parameters of ``with``, which
    see the original step's ``steps.<id>.output`` and the ``failure``."""

    action: str
    with_: dict[str, Any] = msgspec.field(default_factory=dict, name="with")
    retry: StepRetry | None = None
    timeout: Duration | None = None
    description: str = ""


class StepSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step: an action run with the (templated) parameters of ``with``."""

    id: StepId
    action: str
    with_: dict[str, Any] = msgspec.field(default_factory=dict, name="with")
    if_: str | None = msgspec.field(default=None, name="if")
    retry: StepRetry | None = None
    timeout: Duration | None = None
    description: str = ""
    continue_on_error: bool = False
    """When the step fails (a business error, or its attempts exhausted), it stays ``FAILED``
    and the execution goes on with the next step instead of failing."""
    compensate: CompensationSpec | None = None
    """What undoes the step's effect: run (saga) when the step completed and a later step fails
    the execution, in reverse completion order, before ``on_failure``."""
    needs: (
        Annotated[
            list[StepId],
            msgspec.Meta(
                description="The steps this one waits for (a graph of steps); without needs a "
                "step waits for the step before it, with needs: [] for none."
            ),
        ]
        | None
    ) = None
    """The steps this one waits for (a workflow where a step says ``needs`` is a graph): it runs
    once each of them is done (completed, skipped, or failed with ``continue_on_error``).
    Without ``needs`` a step needs the step before it (the first step: none); ``needs: []``
    starts the step with the execution. See :mod:`govflow.core.graph`."""
    foreach: (
        Annotated[
            str | list[Any],
            msgspec.Meta(
                description="Run the action once per item of this list (usually a template "
                "like '{{ inputs.parcels }}'); with: reads item and index."
            ),
        ]
        | None
    ) = None
    """Run the action once per item of this list (:mod:`govflow.core.foreach`); the step's
    output is ``{"items": [...]}``, the items' outputs in order."""
    max_parallel: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1, le=100, description="How many items of foreach run at once (1 to 100)."
            ),
        ]
        | None
    ) = None
    """How many items of ``foreach`` run at once (default 1: one after another)."""


class OutputSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One output of the workflow: a (templated) value computed when the execution completes."""

    value: Any
    type: OutputType | None = None
    description: str = ""


class WorkflowSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A workflow definition as written in ``workflows.d/*.yaml``."""

    name: WorkflowName
    title: str
    department: DepartmentCode
    steps: Annotated[list[StepSpec], msgspec.Meta(min_length=1)]
    description: str = ""
    inputs: dict[Annotated[str, msgspec.Meta(pattern=INPUT_NAME_PATTERN)], InputSpec] = (
        msgspec.field(default_factory=dict)
    )
    defaults: Defaults = msgspec.field(default_factory=Defaults)
    timeout: Duration | None = None
    """How long an execution may run, from its start request; past it the sweeper fails it
    (``EXECUTION_TIMED_OUT``) and cancels its open steps and human tasks."""
    vars: dict[VarName, Any] = msgspec.field(default_factory=dict)
    """Values computed once when an execution starts (templates over ``inputs``), read as
    ``vars.<name>`` by every step's templates."""
    outputs: dict[VarName, OutputSpec] = msgspec.field(default_factory=dict)
    """What the execution gives when it completes, computed by a last step of its own
    (:func:`step_at`) from the steps, variables and inputs."""
    triggers: Triggers | None = None
    """What starts executions on its own: a ``schedule`` and a ``webhook``
    (:mod:`govflow.core.trigger_spec`)."""
    on_failure: list[StepSpec] = msgspec.field(default_factory=list)
    """Steps run when the execution fails (after the compensations), with the ``failure`` in
    their templates; the execution stays ``FAILED``."""

    def step(self, step_id: str) -> StepSpec:
        """The step called ``step_id``.

        :raises KeyError: there is no such step.
        """
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


def effective_retry(spec: WorkflowSpec, step: StepSpec) -> RetryPolicy:
    """The retry policy ``step`` runs under: the workflow defaults with the step's changes."""
    if step.retry is None:
        return spec.defaults.retry
    return step.retry.apply_to(spec.defaults.retry)


def effective_timeout(spec: WorkflowSpec, step: StepSpec) -> timedelta:
    """How long one attempt of ``step`` may take."""
    return parse_duration(step.timeout or spec.defaults.timeout)


OUTPUTS_STEP_ID = "outputs"
"""The key of the step that computes a workflow's ``outputs`` (reserved in such workflows)."""
OUTPUTS_ACTION = "$outputs"
"""The action of that step: GovFlow's own, no plugin's (an action name cannot start with $)."""


HANDLER_SEPARATOR = "."
"""In the key of a failure handler's step (never in a step id): ``compensate.<id>`` for the
compensation of step ``<id>``, ``on_failure.<id>`` for a step of ``on_failure``."""
COMPENSATE_PREFIX = "compensate."
ON_FAILURE_PREFIX = "on_failure."
HANDLER_ID_MAX = 64 - len(COMPENSATE_PREFIX)
"""The longest id of a step with ``compensate`` or of an ``on_failure`` step (a step key holds
at most 64 characters)."""


def is_handler_key(step_key: str) -> bool:
    """Whether an execution's step is a failure handler (a compensation or ``on_failure``)."""
    return HANDLER_SEPARATOR in step_key


def main_step_count(spec: WorkflowSpec) -> int:
    """How many steps an execution of ``spec`` runs when nothing fails: its steps, and the
    outputs step if any. The failure handlers come after them."""
    return len(spec.steps) + (1 if spec.outputs else 0)


def step_needs(spec: WorkflowSpec) -> list[tuple[int, ...]]:
    """The positions each step of a valid workflow needs: its ``needs``, else the step before."""
    ids = {step.id: position for position, step in enumerate(spec.steps)}
    return [
        ((position - 1,) if position else ())
        if step.needs is None
        else tuple(ids[need] for need in step.needs if need in ids)
        for position, step in enumerate(spec.steps)
    ]


def _compensation_count(spec: WorkflowSpec) -> int:
    return sum(1 for step in spec.steps if step.compensate is not None)


def compensated_steps(spec: WorkflowSpec) -> list[StepSpec]:
    """The steps with ``compensate``, in the order their compensations run: the reverse of an
    order the steps may run in, so a step is undone before every step it needed (for a list,
    the reverse of the file's order)."""
    order = dependency_order(step_needs(spec))
    return [spec.steps[p] for p in reversed(order) if spec.steps[p].compensate is not None]


def step_count(spec: WorkflowSpec) -> int:
    """How many steps an execution of ``spec`` has: its steps, the outputs step if any, then a
    compensation per step with ``compensate`` and the ``on_failure`` steps."""
    return main_step_count(spec) + _compensation_count(spec) + len(spec.on_failure)


def handlers_from(spec: WorkflowSpec) -> int | None:
    """The position of an execution's first failure handler (``None``: it has none)."""
    if spec.on_failure or _compensation_count(spec):
        return main_step_count(spec)
    return None


def is_last_step(spec: WorkflowSpec, position: int) -> bool:
    """Whether no step follows the one at ``position``: the last of the steps that run when
    nothing fails, or the last failure handler."""
    if position < main_step_count(spec):
        return position == main_step_count(spec) - 1
    return position == step_count(spec) - 1


def step_at(spec: WorkflowSpec, position: int) -> StepSpec:
    """The step an execution of ``spec`` runs at ``position``: a step of the file, or after the
    last one (when ``outputs:`` is declared) the step that evaluates the outputs, its ``with:``
    the outputs' values.

    :raises IndexError: there is no such step.
    """
    if position < len(spec.steps):
        return spec.steps[position]
    if position == len(spec.steps) and spec.outputs:
        return StepSpec(
            id=OUTPUTS_STEP_ID,
            action=OUTPUTS_ACTION,
            with_={name: output.value for name, output in spec.outputs.items()},
            retry=StepRetry(max_attempts=1),
            description="Computes the workflow's outputs.",
        )
    return _handler_at(spec, position - main_step_count(spec))


def _handler_at(spec: WorkflowSpec, index: int) -> StepSpec:
    """The ``index``-th failure handler: the compensations, then the ``on_failure`` steps. A
    compensation runs only when its step completed (its ``if``)."""
    compensated = compensated_steps(spec)
    if 0 <= index < len(compensated):
        step = compensated[index]
        undo = step.compensate
        assert undo is not None
        return StepSpec(
            id=COMPENSATE_PREFIX + step.id,
            action=undo.action,
            with_=undo.with_,
            if_=f"steps.{step.id}.status == 'COMPLETED'",
            retry=undo.retry,
            timeout=undo.timeout,
            description=undo.description or f"Compensates {step.id}.",
        )
    index -= len(compensated)
    if 0 <= index < len(spec.on_failure):
        step = spec.on_failure[index]
        return msgspec.structs.replace(step, id=ON_FAILURE_PREFIX + step.id)
    raise IndexError(index)
