"""Rehearsals: run a workflow in memory with stubbed action results, see which steps run.

Conditions (``if:``) and templates (``with:``) are evaluated by the DSL core exactly as in an
execution; each action's ``execute`` is replaced by the result given for its step::

    rehearse(yaml_text, {"issue_key": "PERMIT-1"}, {
        "review": {"decision": "approved"},     # the step completes with this output
        "notify": "skip",                       # an operator skips it
        "comment": BusinessError("refused"),    # the step fails, the execution fails
    })

The steps of a graph (``needs:``) run one at a time in one deterministic order: each after the
steps it needs, the first in the file first among those that may run
(:func:`govflow.core.graph.run_order`). A ``Suspend`` result leaves the step and the execution
``WAITING``. A ``foreach`` step runs its items one after another, each yielding the stub given
under its key (``"consult[2]"``) or else the step's (``"consult"``); its ``params`` are kept
under each item's key and its output is ``{"items": [...]}``.
A ``wait`` step (a durable timer) needs no stub: the rehearsal skips time, so the
step completes with its due time (``{due_at, waited}``) and the rehearsal's clock moves on to it
(``now`` sets where the clock starts; ``skip_waits=False`` leaves the step ``WAITING``
instead, as an execution is until its due time). When the execution fails,
its failure handlers run as in an execution: the compensations of the completed steps (in
reverse order), then the ``on_failure`` steps, each stubbed under its step key
(``"compensate.book"``, ``"on_failure.notify"``), their templates reading ``failure``.

A step's stubbed output is checked against the output its action declares (a key it does not
declare or a value of the wrong type is a :class:`RehearsalError`; a field left out is fine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

import msgspec

from govflow.cli.workflow_files import TemplateFiles
from govflow.core.action_types import declared_outputs
from govflow.core.engine import StepError
from govflow.core.error_codes import StepErrorCode
from govflow.core.expressions import (
    ExpressionError,
    build_context,
    evaluate_condition,
    evaluate_vars,
    render,
)
from govflow.core.foreach import (
    DEFAULT_FOREACH_MAX_ITEMS,
    INDEX_NAME,
    ITEM_NAME,
    foreach_items,
    foreach_output,
    item_failed,
    item_key,
)
from govflow.core.graph import run_order, step_graph
from govflow.core.inputs import validate_execution_inputs
from govflow.core.output_refs import output_problems
from govflow.core.outputs import check_outputs
from govflow.core.secrets import SECRET_FUNCTION, SecretSession
from govflow.core.spec import (
    OUTPUTS_STEP_ID,
    StepSpec,
    WorkflowSpec,
    handlers_from,
    step_at,
    step_count,
)
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.timers import (
    TIMER_WAIT,
    WAIT_ACTION,
    TimerError,
    due_time,
    is_due,
    timer_output,
)
from govflow.core.validation import convert_action_inputs, validate_workflow
from govflow.plugins import (
    ActionError,
    ActionRegistry,
    BusinessError,
    OutcomeUnknown,
    PluginManager,
    Suspend,
)

SKIP = "skip"
StubResult: TypeAlias = Mapping[str, Any] | ActionError | Suspend | Literal["skip"]
"""What a stubbed step does: complete with an output, fail, wait, or be skipped."""


class RehearsalError(Exception):
    """The rehearsal itself is incomplete (e.g. a step that runs has no stubbed result)."""


@dataclass(slots=True)
class Rehearsal:
    """What happened in a rehearsed execution.

    :ivar status: the execution's final status (``COMPLETED``, ``FAILED`` or ``WAITING``).
    :ivar sequence: the ids of the steps whose action ran, in order.
    :ivar skipped: the ids of skipped steps (condition false or stubbed ``"skip"``).
    :ivar outputs: each completed step's output.
    :ivar params: each run step's rendered ``with:`` block.
    :ivar steps: each visited step's status.
    :ivar error: why the execution failed, if it did.
    :ivar continued: why each ``continue_on_error`` step that failed did (the execution went
        on).
    :ivar workflow_outputs: the workflow's ``outputs:`` once it completed (``None`` without).
    :ivar failure: what failed the execution, as its failure handlers read it (``step``,
        ``error.code``, ``error.message``); ``None`` unless it failed.
    :ivar handlers: the step keys of the failure handlers whose action ran, in order.
    :ivar handler_errors: why each failure handler that failed did (the next one still ran).
    :ivar due: each ``wait`` step's due time.
    :ivar clock: the rehearsal's clock at its end (moved on by each ``wait`` step it skipped).
    """

    status: ExecutionStatus
    sequence: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[str, StepStatus] = field(default_factory=dict)
    error: str | None = None
    continued: dict[str, str] = field(default_factory=dict)
    workflow_outputs: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    handlers: list[str] = field(default_factory=list)
    handler_errors: dict[str, str] = field(default_factory=dict)
    due: dict[str, datetime] = field(default_factory=dict)
    clock: datetime | None = None


def _input_types(
    actions: ActionRegistry | Mapping[str, type[msgspec.Struct]] | None,
) -> Mapping[str, type[msgspec.Struct]]:
    if actions is None:
        return PluginManager.from_env({}).actions().inputs()
    if isinstance(actions, ActionRegistry):
        return actions.inputs()
    return actions


def rehearse(
    workflow_yaml: str,
    inputs: Mapping[str, Any],
    results: Mapping[str, StubResult],
    *,
    actions: ActionRegistry | Mapping[str, type[msgspec.Struct]] | None = None,
    filename: str = "rehearsal.yaml",
    secrets: Mapping[str, str] | None = None,
    path: Path | None = None,
    now: datetime | None = None,
    skip_waits: bool = True,
) -> Rehearsal:
    """Validate ``workflow_yaml`` and run it with ``inputs``, each step yielding its stub.

    :param workflow_yaml: the workflow file's text.
    :param inputs: the execution's inputs (validated, defaults filled in).
    :param results: step id -> output mapping, ``ActionError`` instance, ``Suspend`` or
        ``"skip"``.
    :param actions: the actions the workflow may use; every installed plugin's when omitted.
    :param filename: the name validation problems are reported under.
    :param secrets: the values ``secret('NAME')`` gives (a name not here fails its step with
        ``UNKNOWN_SECRET``, as at run time).
    :param path: where the workflow file lies: its step templates (``uses:``) are read beside
        it, confined to its folder as ``govflow workflows validate`` confines them, and problems
        are reported under this path. Without it a ``uses:`` is refused.
    :param now: where the rehearsal's clock starts (the present when omitted): a ``wait``
        step's ``for`` counts from it, an ``until`` before it is due at once.
    :param skip_waits: a ``wait`` step without a stub completes at its due time (the clock
        moves on to it); ``False``: it leaves the step and the execution ``WAITING``.
    :raises SpecError: the workflow is invalid.
    :raises InputError: the inputs do not match the workflow's declared inputs.
    :raises VarError: a variable of ``vars:`` cannot be evaluated with these inputs (an
        execution would not start).
    :raises RehearsalError: a step that runs has no stubbed result.
    """
    types = _input_types(actions)
    templates = None
    if path is not None:
        filename = str(path)
        templates = TemplateFiles({filename: path.parent})
    spec = validate_workflow(workflow_yaml, filename, types, templates)
    values = validate_execution_inputs(spec, inputs)
    variables = evaluate_vars(spec.vars, values)
    seen: dict[str, dict[str, Any]] = {}
    given = dict(secrets or {})
    clock = _Clock(now or datetime.now(UTC), skip_waits)
    run = _rehearse(spec, types, values, variables, results, given, seen, clock)
    run.clock = clock.now
    if run.failure is not None:
        _handle_failure(run, spec, types, values, variables, results, given, seen)
    return run


def _stub_output(
    types: Mapping[str, type[msgspec.Struct]], step_id: str, action: str, stub: Mapping[str, Any]
) -> dict[str, Any]:
    """The stub as the step's output, checked against the output the action declares (a stub
    may leave fields out: it gives what the rehearsal needs).

    :raises RehearsalError: the stub has a key the output does not declare, or a wrong type.
    """
    struct = declared_outputs(types).get(action)
    problems = [] if struct is None else output_problems(struct, stub, partial=True)
    if problems:
        raise RehearsalError(
            f"step {step_id!r}: the stub is not an output of action {action!r}: "
            + "; ".join(problems)
        )
    return dict(stub)


def _rehearse(
    spec: WorkflowSpec,
    types: Mapping[str, type[msgspec.Struct]],
    values: dict[str, Any],
    variables: dict[str, Any],
    results: Mapping[str, StubResult],
    secrets: Mapping[str, str],
    seen: dict[str, dict[str, Any]],
    clock: _Clock,
) -> Rehearsal:
    """Run the steps of ``spec`` (and its outputs), until one fails the execution."""
    run = Rehearsal(status=ExecutionStatus.RUNNING)
    execution = {"workflow": spec.name}
    order = run_order(step_graph(spec))  # a graph (needs:) in one deterministic order
    for step in (spec.steps[p] for p in order if p < len(spec.steps)):
        context = build_context(values, seen, execution, variables)
        context[SECRET_FUNCTION] = SecretSession(secrets.get)
        try:
            wanted = step.if_ is None or evaluate_condition(step.if_, context)
            rendered = render(step.with_, context) if wanted and step.foreach is None else {}
            if wanted and step.foreach is None:
                convert_action_inputs(types[step.action], rendered)
        except (ExpressionError, ValueError) as exc:
            if step.continue_on_error:
                _continue(run, seen, step.id, str(exc))
                continue
            return _fail(run, step.id, str(exc), StepErrorCode.INVALID_STEP_INPUT)
        if wanted and step.foreach is not None:
            run.sequence.append(step.id)
            items = _rehearse_items(run, step, context, types[step.action], results)
            if isinstance(items, StepError):
                if step.continue_on_error:
                    _continue(run, seen, step.id, items.message)
                    continue
                return _fail(run, step.id, items.message, items.code)
            run.outputs[step.id] = items
            run.steps[step.id] = StepStatus.COMPLETED
            seen[step.id] = {"status": str(StepStatus.COMPLETED), "output": items}
            continue
        stub = results.get(step.id) if wanted else SKIP
        if wanted and stub is None and step.action == WAIT_ACTION:
            stub = _timer(run, step.id, rendered, clock)
        if wanted and stub is None:
            raise RehearsalError(f"step {step.id!r} runs but has no stubbed result")
        if isinstance(stub, str):
            if stub != SKIP:
                raise RehearsalError(f"step {step.id!r}: unknown stub {stub!r} (use 'skip')")
            run.skipped.append(step.id)
            run.steps[step.id] = StepStatus.SKIPPED
            seen[step.id] = {"status": str(StepStatus.SKIPPED), "output": {}}
            continue
        run.sequence.append(step.id)
        run.params[step.id] = rendered
        if isinstance(stub, ActionError):
            if step.continue_on_error:
                _continue(run, seen, step.id, f"{type(stub).__name__}: {stub}")
                continue
            return _fail(run, step.id, f"{type(stub).__name__}: {stub}", _code(stub))
        if isinstance(stub, Suspend):
            run.steps[step.id] = StepStatus.WAITING
            run.status = ExecutionStatus.WAITING
            return run
        assert stub is not None
        output = _stub_output(types, step.id, step.action, stub)
        run.outputs[step.id] = output
        run.steps[step.id] = StepStatus.COMPLETED
        seen[step.id] = {"status": str(StepStatus.COMPLETED), "output": output}
    if spec.outputs:
        context = build_context(values, seen, execution, variables)
        computed: dict[str, Any] = {}
        problems: list[str] = []
        for name, declared in spec.outputs.items():
            try:
                computed[name] = render(declared.value, context)
            except ExpressionError as exc:
                problems.append(f"outputs.{name}: {exc}")
        problems += check_outputs(spec, computed)
        if problems:
            message = f"{StepErrorCode.OUTPUTS_INVALID}: {'; '.join(problems)}"
            return _fail(run, OUTPUTS_STEP_ID, message, StepErrorCode.OUTPUTS_INVALID)
        run.workflow_outputs = computed
    run.status = ExecutionStatus.COMPLETED
    return run


def _rehearse_items(
    run: Rehearsal,
    step: StepSpec,
    context: Mapping[str, Any],
    inputs_type: type[msgspec.Struct],
    results: Mapping[str, StubResult],
) -> dict[str, Any] | StepError:
    """The items of a ``foreach`` step, one after another: the step's output, or the error
    that fails it (as at run time: the list, an item's ``with:``, an item's stub)."""
    try:
        listed = foreach_items(render(step.foreach, context), DEFAULT_FOREACH_MAX_ITEMS)
    except ExpressionError as exc:
        return StepError(StepErrorCode.INVALID_STEP_INPUT, str(exc))
    if isinstance(listed, StepError):
        return listed
    outputs: list[dict[str, Any]] = []
    for index, item in enumerate(listed):
        key = item_key(step.id, index)
        try:
            rendered = render(step.with_, {**context, ITEM_NAME: item, INDEX_NAME: index})
            convert_action_inputs(inputs_type, rendered)
        except (ExpressionError, ValueError) as exc:
            return item_failed(index, StepError(StepErrorCode.INVALID_STEP_INPUT, str(exc)))
        run.params[key] = rendered
        stub = results.get(key, results.get(step.id))
        if stub is None or isinstance(stub, str):
            raise RehearsalError(
                f"item {key!r} runs but has no stubbed result (give {key!r} or {step.id!r}; "
                "an item cannot be skipped)"
            )
        if isinstance(stub, Suspend):
            waits = StepError(
                StepErrorCode.FOREACH_CANNOT_WAIT, "an item of a foreach step cannot wait"
            )
            return item_failed(index, waits)
        if isinstance(stub, BusinessError):
            return item_failed(index, StepError(_code(stub), str(stub)))
        if isinstance(stub, ActionError):
            return StepError(_code(stub), f"item {index}: {type(stub).__name__}: {stub}")
        outputs.append(dict(stub))
    return foreach_output(outputs)


@dataclass(slots=True)
class _Clock:
    """The rehearsal's clock, moved on by each ``wait`` step it skips."""

    now: datetime
    skip_waits: bool


def _timer(run: Rehearsal, step_id: str, rendered: Mapping[str, Any], clock: _Clock) -> StubResult:
    """A ``wait`` step without a stub: its output at its due time (the clock moves on to it),
    its error, or a ``Suspend`` when time is not skipped."""
    try:
        due = due_time(rendered.get("for"), rendered.get("until"), clock.now)
    except TimerError as exc:
        return BusinessError(str(exc), details={"code": exc.code})
    run.due[step_id] = due
    if is_due(due, clock.now):
        return timer_output(due, waited=False)
    if not clock.skip_waits:
        return Suspend(TIMER_WAIT, {"due_at": due.isoformat()})
    clock.now = due
    return timer_output(due, waited=True)


def _continue(run: Rehearsal, seen: dict[str, dict[str, Any]], step_id: str, error: str) -> None:
    """A ``continue_on_error`` step failed: it stays ``FAILED``, the execution goes on."""
    run.steps[step_id] = StepStatus.FAILED
    run.continued[step_id] = error
    seen[step_id] = {"status": str(StepStatus.FAILED), "output": None}


def _fail(run: Rehearsal, step_id: str, error: str, code: str) -> Rehearsal:
    run.steps[step_id] = StepStatus.FAILED
    run.status = ExecutionStatus.FAILED
    run.error = f"step {step_id!r}: {error}"
    run.failure = {"step": step_id, "error": {"code": str(code), "message": error}}
    return run


def _code(error: ActionError) -> StepErrorCode:
    """The error code an execution records for an action's error."""
    if isinstance(error, BusinessError):
        return StepErrorCode.BUSINESS_ERROR
    if isinstance(error, OutcomeUnknown):
        return StepErrorCode.OUTCOME_UNKNOWN
    return StepErrorCode.TECHNICAL_ERROR


def _handle_failure(
    run: Rehearsal,
    spec: WorkflowSpec,
    types: Mapping[str, type[msgspec.Struct]],
    values: dict[str, Any],
    variables: dict[str, Any],
    results: Mapping[str, StubResult],
    secrets: Mapping[str, str],
    seen: dict[str, dict[str, Any]],
) -> None:
    """Run the failure handlers of the failed execution: each compensation whose step
    completed, then the ``on_failure`` steps; a failing one is recorded and the next runs."""
    first = handlers_from(spec)
    if first is None:
        return
    for step in spec.steps:  # as in an execution: the steps that did not run are PENDING
        seen.setdefault(step.id, {"status": str(StepStatus.PENDING), "output": None})
    execution = {"workflow": spec.name}
    for position in range(first, step_count(spec)):
        step = step_at(spec, position)
        context = build_context(values, seen, execution, variables)
        context[SECRET_FUNCTION] = SecretSession(secrets.get)
        context["failure"] = run.failure
        try:
            wanted = step.if_ is None or evaluate_condition(step.if_, context)
            rendered = render(step.with_, context) if wanted else {}
            if wanted:
                convert_action_inputs(types[step.action], rendered)
        except (ExpressionError, ValueError) as exc:
            _handler_failed(run, seen, step.id, str(exc))
            continue
        stub = results.get(step.id) if wanted else SKIP
        if wanted and stub is None:
            raise RehearsalError(f"failure handler {step.id!r} runs but has no stubbed result")
        if isinstance(stub, str):
            run.skipped.append(step.id)
            run.steps[step.id] = StepStatus.SKIPPED
            seen[step.id] = {"status": str(StepStatus.SKIPPED), "output": {}}
            continue
        run.handlers.append(step.id)
        run.params[step.id] = rendered
        if isinstance(stub, ActionError):
            _handler_failed(run, seen, step.id, f"{type(stub).__name__}: {stub}")
        elif isinstance(stub, Suspend):
            _handler_failed(run, seen, step.id, StepErrorCode.HANDLER_CANNOT_WAIT.value)
        else:
            assert stub is not None  # a handler that runs has its stub (checked above)
            output = _stub_output(types, step.id, step.action, stub)
            run.outputs[step.id] = output
            run.steps[step.id] = StepStatus.COMPLETED
            seen[step.id] = {"status": str(StepStatus.COMPLETED), "output": output}


def _handler_failed(
    run: Rehearsal, seen: dict[str, dict[str, Any]], step_id: str, error: str
) -> None:
    run.steps[step_id] = StepStatus.FAILED
    run.handler_errors[step_id] = error
    seen[step_id] = {"status": str(StepStatus.FAILED), "output": None}
