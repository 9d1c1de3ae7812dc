"""Validate a workflow file and report every problem at once, each at its file position.

Phases (each adds to one list of problems; the file is rejected if the list is not empty):

1. **safety** — :func:`~govflow.core.yaml_source.load_yaml` (size, depth, anchors, tags,
   duplicate keys); a file failing here is not read further;
2. **structure** — the tree against the :mod:`~govflow.core.spec` Structs, then the rules that
   tie an input's keys together (enum values, pattern, bounds, default);
3. **references** — unique step ids, known actions, expressions that compile and read only
   declared inputs, declared variables and *earlier* steps (in a graph: the steps a step needs,
   directly or through others; a variable's templates read inputs alone), and only fields the
   step's declared output has (:mod:`~govflow.core.output_refs`); a graph's ``needs``
   (:func:`~govflow.core.graph.graph_problems`); the ``triggers:``
   (:func:`~govflow.core.trigger_validation.trigger_problems`);
4. **plugin inputs** — each step's ``with:`` against its action's input Struct; template
   strings are accepted wherever they stand and are checked after rendering, at run time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from govflow.core.action_types import declared_outputs
from govflow.core.expressions import (
    ALLOWED_NAMES,
    ExpressionInfo,
    inspect_condition,
    inspect_template,
    is_template,
)
from govflow.core.foreach import FOREACH_NAMES, ITEM_OUTSIDE_FOREACH, foreach_problems
from govflow.core.graph import graph_of, graph_problems
from govflow.core.inputs import check_value
from govflow.core.output_refs import OutputShape, read_problem, step_shapes
from govflow.core.outputs import describe, fits
from govflow.core.patterns import PatternError, check_pattern
from govflow.core.secrets import SECRET_FUNCTION
from govflow.core.spec import (
    COMPENSATE_PREFIX,
    HANDLER_ID_MAX,
    ON_FAILURE_PREFIX,
    OUTPUTS_STEP_ID,
    InputSpec,
    OutputType,
    StepSpec,
    WorkflowSpec,
)
from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.step_templates import TemplateReader, expand_uses
from govflow.core.struct_check import check_against, join_path, suggest, translate
from govflow.core.trigger_validation import trigger_problems
from govflow.core.wait_literals import literal_until_problems
from govflow.core.yaml11 import with_yaml11_booleans
from govflow.core.yaml_source import ROOT, YamlSource, child_path, load_yaml

_KEYS_FOR_TYPE = {
    "pattern": ("string",),
    "min_length": ("string",),
    "max_length": ("string",),
    "minimum": ("integer", "number"),
    "maximum": ("integer", "number"),
    "min_items": ("array",),
    "max_items": ("array",),
    "items": ("array",),
    "values": ("enum",),
}
_BOUND_PAIRS = (("min_length", "max_length"), ("minimum", "maximum"), ("min_items", "max_items"))


class _Report:
    """Problems found so far, positioned in one source."""

    def __init__(self, source: YamlSource) -> None:
        self.source = source
        self.problems: list[SpecProblem] = []
        self.shapes: dict[str, OutputShape] = {}
        """The steps whose outputs are known (:func:`~govflow.core.output_refs.step_shapes`)."""

    def add(self, path: str, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, at_key=at_key))

    def extend(self, found: list[tuple[str, str, bool]]) -> None:
        for path, message, at_key in found:
            self.add(path, message, at_key=at_key)


def _check_input(report: _Report, name: str, raw: Any) -> None:
    """The rules between one input's keys (its shape is already known to be right)."""
    path = child_path("inputs", name)
    spec = msgspec.convert(raw, InputSpec)
    for key, types in _KEYS_FOR_TYPE.items():
        if getattr(spec, key) is not None and spec.type not in types:
            kinds = " and ".join(types)
            report.add(
                child_path(path, key), f"{key!r} applies only to {kinds} inputs", at_key=True
            )
    if spec.type == "enum" and not spec.values:
        report.add(path, "an enum input needs a non-empty 'values' list", at_key=True)
    pattern_ok = True
    if spec.pattern is not None:
        try:
            check_pattern(spec.pattern)
        except PatternError as error:
            pattern_ok = False
            report.add(child_path(path, "pattern"), f"not a usable regular expression: {error}")
    for low, high in _BOUND_PAIRS:
        low_value, high_value = getattr(spec, low), getattr(spec, high)
        if low_value is not None and high_value is not None and low_value > high_value:
            report.add(
                child_path(path, low),
                f"{low} ({low_value}) is greater than {high} ({high_value})",
                at_key=True,
            )
    if spec.default is not msgspec.UNSET:
        if spec.required:
            report.add(child_path(path, "required"), "a required input cannot have a default")
        elif pattern_ok and spec.default is not None and (spec.type != "enum" or spec.values):
            for message in check_value(spec, spec.default):
                report.add(child_path(path, "default"), f"default does not fit: {message}")


def _check_structure(report: _Report, data: dict[str, Any]) -> None:
    found = check_against(data, WorkflowSpec, ROOT)
    report.extend(found)
    inputs = data.get("inputs")
    if not isinstance(inputs, dict):
        return
    broken = {path for path, _, _ in found}
    for name, raw in inputs.items():
        prefix = child_path("inputs", name)
        if not any(p == prefix or p.startswith((f"{prefix}.", f"{prefix}[")) for p in broken):
            _check_input(report, name, raw)


def _templates(value: Any, path: str) -> list[tuple[str, str]]:
    """Every template string inside a ``with:`` value, with its path."""
    if isinstance(value, dict):
        return [t for key, item in value.items() for t in _templates(item, child_path(path, key))]
    if isinstance(value, list):
        return [t for i, item in enumerate(value) for t in _templates(item, child_path(path, i))]
    return [(path, value)] if is_template(value) else []


class _StepContext:
    """What the expressions of one step may read."""

    failure = False
    """The step is a failure handler: its expressions may read ``failure``."""
    foreach = False
    """The expression is in the ``with:`` of a step with ``foreach``: it may read ``item`` and
    ``index``."""

    def __init__(
        self,
        step_id: str | None,
        earlier: list[str],
        ids: list[str],
        inputs: list[str],
        variables: list[str],
        graph: bool = False,
    ):
        self.graph = graph
        """The workflow is a graph (a step says ``needs``): "earlier" means needed."""
        self.step_id = step_id
        self.earlier = earlier
        self.ids = ids
        self.inputs = inputs
        self.variables = variables


def _check_expression(report: _Report, path: str, info: ExpressionInfo, ctx: _StepContext) -> None:
    for error in info.errors:
        report.add(path, error)
    for name in sorted(info.names - ALLOWED_NAMES - {SECRET_FUNCTION}):
        if name == FAILURE_NAME:
            if not ctx.failure:
                report.add(path, _FAILURE_ONLY)
            continue
        if name in FOREACH_NAMES:
            if not ctx.foreach:
                report.add(path, ITEM_OUTSIDE_FOREACH.format(name=name))
            continue
        allowed = ", ".join(sorted(ALLOWED_NAMES))
        report.add(path, f"unknown name {name!r} in expression (use {allowed})")
    for ref in sorted(info.steps):
        if ref == ctx.step_id:
            report.add(path, f"step {ref!r} cannot reference its own output")
        elif ref in ctx.earlier:
            continue
        elif ref in ctx.ids and ctx.graph:
            report.add(
                path,
                f"step {ref!r} may not have run before this step: a step may only reference "
                "the steps it needs, directly or through others",
            )
        elif ref in ctx.ids:
            report.add(
                path,
                f"step {ref!r} runs after this step; a step may only reference earlier steps",
            )
        else:
            report.add(path, f"unknown step {ref!r}{suggest(ref, set(ctx.earlier))}")
    for read in sorted(info.step_reads, key=str):
        if read[0] in ctx.earlier and read[0] != ctx.step_id:
            problem = read_problem(read, report.shapes)
            if problem is not None:
                report.add(path, problem)
    _check_reads(report, path, info, ctx)


def _check_reads(report: _Report, path: str, info: ExpressionInfo, ctx: _StepContext) -> None:
    for ref in sorted(info.inputs):
        if ref not in ctx.inputs:
            report.add(path, f"unknown input {ref!r}{suggest(ref, set(ctx.inputs))}")
    for ref in sorted(info.vars):
        if ref not in ctx.variables:
            report.add(path, f"unknown variable {ref!r}{suggest(ref, set(ctx.variables))}")


def _names(data: dict[str, Any], key: str) -> list[str]:
    block = data.get(key)
    return [str(name) for name in block] if isinstance(block, dict) else []


def _check_vars(report: _Report, data: dict[str, Any]) -> None:
    """A variable's templates compile and read only declared inputs (nothing else exists yet
    when the execution starts)."""
    block = data.get("vars")
    if not isinstance(block, dict):
        return
    ctx = _StepContext(None, [], [], _names(data, "inputs"), [])
    for name, value in block.items():
        for path, text in _templates(value, child_path("vars", name)):
            info = inspect_template(text)
            for error in info.errors:
                report.add(path, error)
            if info.secrets:
                report.add(
                    path,
                    "a variable cannot read a secret: variables are stored with the execution "
                    "(call secret('NAME') in the with: of the step that needs it)",
                )
            for other in sorted(info.names - {"inputs", SECRET_FUNCTION}):
                report.add(
                    path,
                    f"a variable may read only inputs, not {other!r} "
                    "(variables are computed when the execution starts)",
                )
            _check_reads(report, path, info, ctx)


_OUTPUT_TYPES: frozenset[str] = frozenset(OutputType.__args__)  # type: ignore[attr-defined]


def _step_ids(data: dict[str, Any]) -> list[str]:
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []
    return [s["id"] for s in steps if isinstance(s, dict) and isinstance(s.get("id"), str)]


def _check_outputs(report: _Report, data: dict[str, Any]) -> None:
    """An output's templates compile and read declared inputs, variables and steps (every step
    has run when they are computed), no secret; a constant value fits its type; and no step
    takes the outputs step's id."""
    block = data.get("outputs")
    if not isinstance(block, dict) or not block:
        return
    ids = _step_ids(data)
    ctx = _StepContext(None, ids, ids, _names(data, "inputs"), _names(data, "vars"))
    for name, output in block.items():
        if not isinstance(output, dict) or "value" not in output:
            continue
        value_path = child_path(child_path("outputs", name), "value")
        found = _templates(output["value"], value_path)
        for path, text in found:
            info = inspect_template(text)
            if info.secrets:
                report.add(path, "an output cannot read a secret: outputs are stored")
            _check_expression(report, path, info, ctx)
        kind = output.get("type")
        if not found and kind in _OUTPUT_TYPES and not fits(output["value"], kind):
            report.add(value_path, f"expected {kind}, got {describe(output['value'])}")
    steps = data.get("steps")
    for position, step in enumerate(steps if isinstance(steps, list) else []):
        if isinstance(step, dict) and step.get("id") == OUTPUTS_STEP_ID:
            report.add(
                child_path(child_path("steps", position), "id"),
                f"the step id {OUTPUTS_STEP_ID!r} is reserved for the step that computes the "
                "workflow's outputs: rename this step",
            )


FAILURE_NAME = "failure"
"""What failed the execution, read by its failure handlers' expressions only."""
_FAILURE_ONLY = (
    "'failure' is read only by the steps of on_failure and by compensations (it is what "
    "failed the execution)"
)


def _check_failure_handlers(
    report: _Report, data: dict[str, Any], actions: Mapping[str, type[msgspec.Struct]]
) -> None:
    """``compensate`` blocks and ``on_failure`` steps: ids unique across the file and short
    enough for their step keys, known actions and ``with:`` checked, expressions that read any
    step of the file and ``failure``; no ``needs`` nor ``compensate`` in ``on_failure``."""
    steps = data.get("steps")
    steps = steps if isinstance(steps, list) else []
    ids = _step_ids(data)
    inputs, variables = _names(data, "inputs"), _names(data, "vars")
    first_line: dict[str, int] = {}
    for position, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        path = child_path("steps", position)
        first_line.setdefault(step["id"], report.source.position(child_path(path, "id"))[0])
        undo = step.get("compensate")
        if isinstance(undo, dict):
            _check_handler_id(report, step["id"], child_path(path, "id"))
            ctx = _StepContext(None, ids, ids, inputs, variables)
            _check_handler(report, undo, child_path(path, "compensate"), ctx, actions)
    # Each on_failure step may read every step of the file and the handlers before it.
    handlers = [
        COMPENSATE_PREFIX + step["id"]
        for step in reversed(steps)
        if isinstance(step, dict) and isinstance(step.get("id"), str) and "compensate" in step
    ]
    block = data.get("on_failure")
    for index, step in enumerate(block if isinstance(block, list) else []):
        if not isinstance(step, dict):
            continue
        path = child_path("on_failure", index)
        step_id = step.get("id") if isinstance(step.get("id"), str) else None
        if step_id is not None:
            id_path = child_path(path, "id")
            if step_id in first_line:
                report.add(
                    id_path,
                    f"step id {step_id!r} is used twice (first at line {first_line[step_id]}): "
                    "the ids of on_failure steps are unique across the file",
                )
            else:
                first_line[step_id] = report.source.position(id_path)[0]
                _check_handler_id(report, step_id, id_path)
        for key in ("needs", "compensate"):
            if key in step and key in StepSpec.__struct_fields__:  # else: a structure problem
                report.add(
                    child_path(path, key),
                    f"an on_failure step takes no {key}: the on_failure steps run one after "
                    "another, after the compensations, and are not compensated",
                )
        readable = [*ids, *handlers]
        ctx = _StepContext(step_id, readable, readable, inputs, variables)
        _check_handler(report, step, path, ctx, actions)
        if step_id is not None:
            handlers.append(ON_FAILURE_PREFIX + step_id)


def _check_handler_id(report: _Report, step_id: str, path: str) -> None:
    if len(step_id) > HANDLER_ID_MAX:
        report.add(
            path,
            f"the id of a step with compensate or of an on_failure step has at most "
            f"{HANDLER_ID_MAX} characters (it names the handler's step), got {len(step_id)}",
        )


def _check_handler(
    report: _Report,
    step: dict[str, Any],
    path: str,
    ctx: _StepContext,
    actions: Mapping[str, type[msgspec.Struct]],
) -> None:
    """A failure handler's ``if``, ``with`` and action, its expressions reading ``failure``."""
    ctx.failure = True
    _check_step_body(report, step, path, ctx, actions)


def _check_step_body(
    report: _Report,
    step: dict[str, Any],
    path: str,
    ctx: _StepContext,
    actions: Mapping[str, type[msgspec.Struct]],
) -> None:
    """A step's ``if`` and ``with`` expressions (against what ``ctx`` says it may read), its
    action, and its ``with`` against the action's inputs."""
    condition = step.get("if")
    if isinstance(condition, str):
        _check_expression(report, child_path(path, "if"), inspect_condition(condition), ctx)
    for key, message in foreach_problems(step):
        report.add(child_path(path, key), message)
    for leaf_path, text in _templates(step.get("foreach"), child_path(path, "foreach")):
        _check_expression(report, leaf_path, inspect_template(text), ctx)
    with_block = step.get("with")
    if isinstance(with_block, dict):
        ctx.foreach = step.get("foreach") is not None
        for leaf_path, text in _templates(with_block, child_path(path, "with")):
            _check_expression(report, leaf_path, inspect_template(text), ctx)
        ctx.foreach = False
    action = step.get("action")
    if not isinstance(action, str):
        return
    if action not in actions:
        hint = suggest(action, set(actions)) or (
            f" (known actions: {', '.join(sorted(actions)) or 'none'})"
        )
        report.add(child_path(path, "action"), f"unknown action {action!r}{hint}")
    elif with_block is None or isinstance(with_block, dict):
        _check_with(report, with_block or {}, actions[action], child_path(path, "with"))


def _check_steps(
    report: _Report, data: dict[str, Any], actions: Mapping[str, type[msgspec.Struct]]
) -> None:
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    inputs = _names(data, "inputs")
    variables = _names(data, "vars")
    ids = [
        step["id"] if isinstance(step, dict) and isinstance(step.get("id"), str) else None
        for step in steps
    ]
    known_ids = [i for i in ids if i is not None]
    before = _steps_before(report, steps, ids, outputs=bool(data.get("outputs")))
    first_line: dict[str, int] = {}
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        path = child_path("steps", index)
        step_id = ids[index]
        if step_id is not None:
            if step_id in first_line:
                report.add(
                    child_path(path, "id"),
                    f"step id {step_id!r} is used twice (first at line {first_line[step_id]})",
                )
            else:
                first_line[step_id] = report.source.position(child_path(path, "id"))[0]
        earlier = before[index] if before is not None else [i for i in ids[:index] if i]
        ctx = _StepContext(step_id, earlier, known_ids, inputs, variables, before is not None)
        _check_step_body(report, step, path, ctx, actions)


def _steps_before(
    report: _Report, steps: list[Any], ids: list[str | None], *, outputs: bool
) -> list[list[str]] | None:
    """For a graph (a step says ``needs``), the ids each step may read: the steps it needs,
    directly or through others (every other step while the graph has problems, reported here);
    ``None`` for a list."""
    if not any(isinstance(step, dict) and "needs" in step for step in steps):
        return None
    problems = graph_problems(steps, outputs=outputs)
    for path, message in problems:
        report.add(path, message)
    if problems or any(i is None for i in ids) or len(set(ids)) != len(ids):
        return [[i for i in ids if i and i != own] for own in ids]
    positions = {step_id: position for position, step_id in enumerate(ids)}
    needs: list[list[int]] = []
    for position, step in enumerate(steps):
        wanted = step.get("needs")
        if not isinstance(wanted, list):
            needs.append([position - 1] if position else [])
        elif all(isinstance(need, str) and need in positions for need in wanted):
            needs.append([positions[need] for need in wanted])
        else:  # a structure problem, reported already
            return [[i for i in ids if i and i != own] for own in ids]
    graph = graph_of(needs)
    return [sorted(str(ids[p]) for p in graph.ancestors(position)) for position in range(len(ids))]


def _check_with(
    report: _Report, with_block: dict[str, Any], inputs_type: type[msgspec.Struct], path: str
) -> None:
    """A step's ``with:`` against its action's inputs; without templates, the action's own
    checks (``__post_init__``) run too."""
    found = check_against(with_block, inputs_type, path, templates=True)
    report.extend(found)
    if found or _templates(with_block, path):
        return
    try:
        msgspec.convert(with_block, inputs_type)
    except msgspec.ValidationError as error:
        suffix, message = translate(str(error), None)
        report.add(join_path(path, suffix), message)


def validate_source(
    source: YamlSource,
    actions: Mapping[str, type[msgspec.Struct]],
    children: Mapping[str, frozenset[str]] | None = None,
    now: datetime | None = None,
) -> WorkflowSpec:
    """Validate an already loaded workflow file (see :func:`validate_workflow`).

    :param children: workflow name -> its output names, for the workflows known beside this
        file (a ``workflow`` step naming one has its output references checked).
    :param now: the moment of the check: a ``wait`` step's literal ``until`` further than the
        longest wait from it is refused (without it, that one check is not made).
    """
    report = _Report(source)
    report.shapes = step_shapes(source.data, declared_outputs(actions), children)
    _check_structure(report, source.data)
    _check_vars(report, source.data)
    _check_steps(report, source.data, actions)
    _check_outputs(report, source.data)
    _check_failure_handlers(report, source.data, actions)
    report.extend(trigger_problems(source.data))
    if now is not None:
        report.extend(literal_until_problems(source.data, now))
    report.problems = with_yaml11_booleans(source, report.problems)
    if report.problems:
        raise SpecError(report.problems)
    try:
        return msgspec.convert(source.data, WorkflowSpec)
    except msgspec.ValidationError as error:
        suffix, message = translate(str(error), None)
        report.add(join_path(ROOT, suffix), message)
        raise SpecError(report.problems) from None


def validate_workflow(
    text: str,
    filename: str,
    actions: Mapping[str, type[msgspec.Struct]],
    templates: TemplateReader | None = None,
    now: datetime | None = None,
) -> WorkflowSpec:
    """Parse and validate a workflow file.

    :param text: the YAML text.
    :param filename: the name problems are reported under.
    :param actions: action name -> the action's input Struct (the ``with:`` schema); an
        :class:`~govflow.core.action_types.ActionTypes` also gives the declared output Structs,
        against which ``steps.<id>.output.<field>`` references are checked.
    :param templates: reads the step templates ``uses:`` names; without it ``uses:`` is refused.
    :param now: the moment of the check, for a ``wait`` step's literal ``until``
        (:func:`~govflow.core.wait_literals.literal_until_problems`).
    :raises SpecError: with every problem found, each as ``file:line:col: path: message``.
    """
    source = expand_uses(load_yaml(text, filename), templates)
    return validate_source(source, actions, now=now)


def convert_action_inputs(
    inputs_type: type[msgspec.Struct], params: Mapping[str, Any]
) -> msgspec.Struct:
    """Decode a step's rendered ``with:`` into its action's input Struct (at run time).

    :raises ValueError: with every problem, each as ``with.<path>: message``.
    """
    found = check_against(dict(params), inputs_type, "with")
    if found:
        raise ValueError("; ".join(f"{path}: {message}" for path, message, _ in found))
    return msgspec.convert(dict(params), inputs_type)
