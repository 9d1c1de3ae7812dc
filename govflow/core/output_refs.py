"""References to a step's output checked against the output its action declares.

A plugin may declare an output Struct for an action (``outputs``, beside ``inputs``). An
expression reading ``steps.<id>.output.<field>`` (deeper into nested Structs, and into list
items by a literal index) must then name a field the Struct has; an action without one is not
checked. On top of the Struct:

- a ``foreach`` step's output is ``{items: [...]}``, each item the action's output;
- an output field ``form`` of a step whose ``with.form`` is a literal mapping (a ``manual``
  step) holds the fields that mapping declares;
- a ``workflow`` step whose child is known (its ``with.name`` literal, no ``version``, and the
  child among the files validated together) gives the child's ``outputs:``;
- ``steps.<id>`` itself holds only ``output`` and ``status``.

Pure: :func:`step_shapes` reads a file's data, :func:`read_problem` judges one key path,
:func:`output_problems` checks an output an action returned against its declared Struct.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from govflow.core.expressions import is_template
from govflow.core.struct_check import MISSING_KEY, check_against, suggest
from govflow.core.subworkflow_refs import WORKFLOW_ACTION

STEP_KEYS = ("output", "status")
"""What ``steps.<id>`` holds."""
FOREACH_KEY = "items"
"""The one key of a ``foreach`` step's output."""
FORM_FIELD = "form"
"""The output field that holds the fields of the step's ``with.form``."""

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class OutputShape:
    """What one step's output holds, as far as the file tells.

    :ivar action: the step's action.
    :ivar struct: the action's declared output Struct (``None``: not declared).
    :ivar keys: key path inside the output -> (the keys it holds, what declares them), for the
        parts the file itself declares (a form's fields, a child workflow's outputs).
    :ivar foreach: the step runs once per item: its output is ``{items: [...]}``.
    """

    action: str
    struct: type[msgspec.Struct] | None = None
    keys: Mapping[tuple[str, ...], tuple[frozenset[str], str]] = field(default_factory=dict)
    foreach: bool = False


def _literal_keys(value: Any) -> frozenset[str] | None:
    if not isinstance(value, dict) or any(is_template(key) for key in value):
        return None
    return frozenset(str(key) for key in value)


def step_shapes(
    data: Mapping[str, Any],
    outputs: Mapping[str, type[msgspec.Struct]],
    children: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, OutputShape]:
    """The output shape of each step of a file whose output can be checked at all.

    :param outputs: action name -> its declared output Struct.
    :param children: workflow name -> the names of its ``outputs:``, for the workflows known
        with this file (a ``workflow`` step naming another one is not checked).
    """
    steps = data.get("steps")
    shapes: dict[str, OutputShape] = {}
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict) or not isinstance(step.get("id"), str):
            continue
        action = step.get("action")
        if not isinstance(action, str):
            continue
        given = step.get("with")
        with_: dict[str, Any] = given if isinstance(given, dict) else {}
        keys: dict[tuple[str, ...], tuple[frozenset[str], str]] = {}
        struct = outputs.get(action)
        form = _literal_keys(with_.get(FORM_FIELD))
        if struct is not None and FORM_FIELD in struct.__struct_fields__ and form is not None:
            keys[(FORM_FIELD,)] = (form, "the step's with.form declares")
        child = with_.get("name")
        pinned = with_.get("version") is not None  # maybe an older version: other outputs
        if action == WORKFLOW_ACTION and not pinned and child in (children or {}):
            struct = None
            keys[()] = ((children or {})[str(child)], f"workflow {child!r} outputs")
        if struct is None and not keys:
            continue
        foreach = step.get("foreach") is not None
        shapes[step["id"]] = OutputShape(action, struct, keys, foreach)
    return shapes


def _unwrap(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` and ``None`` (``T | None`` is ``T``)."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if get_origin(annotation) in (Union, types.UnionType):
            members = [m for m in get_args(annotation) if m is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _shown(path: Path) -> str:
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)


def _walk(shape: OutputShape, where: str, fields: Path) -> str | None:
    annotation: Any = shape.struct if shape.struct is not None else Any
    prefix: tuple[str, ...] | None = ()  # None: below a list item, where the file declares none
    for key in fields:
        here = f"{where}{_shown((key,))}"
        declared = None if prefix is None else shape.keys.get(prefix)
        base = _unwrap(annotation)
        if declared is not None:
            names, what = declared
            if key not in names:
                return _missing(here, key, names, f"{what} {', '.join(sorted(names)) or 'nothing'}")
            annotation = Any
        elif isinstance(base, type) and issubclass(base, msgspec.Struct):
            fields_ = {f.encode_name: f.type for f in msgspec.structs.fields(base)}
            if key not in fields_:
                what = f"action {shape.action!r} outputs {', '.join(fields_)}"
                return _missing(here, key, set(fields_), what)
            annotation = fields_[key]
        elif get_origin(base) in (list, tuple) and isinstance(key, int):
            annotation = get_args(base)[0]
        else:
            return None
        prefix = (*prefix, key) if isinstance(key, str) and prefix is not None else None
        where = here
    return None


def _missing(here: str, key: str | int, names: set[str] | frozenset[str], what: str) -> str:
    hint = suggest(key, names) if isinstance(key, str) else ""
    return f"{here}: no such field{hint} ({what})"


def read_problem(path: Path, shapes: Mapping[str, OutputShape]) -> str | None:
    """Why the key path ``path`` read under ``steps`` names nothing, or ``None`` (also when it
    cannot be told)."""
    step_id, *rest = path
    if not rest or not isinstance(step_id, str):
        return None
    where = f"steps.{step_id}"
    if rest[0] not in STEP_KEYS:
        key = rest[0]
        hint = suggest(key, set(STEP_KEYS)) if isinstance(key, str) else ""
        return f"{where}{_shown((key,))}: a step holds only 'output' and 'status'{hint}"
    shape = shapes.get(step_id)
    if rest[0] != "output" or shape is None:
        return None
    where += ".output"
    fields: Path = tuple(rest[1:])
    if shape.foreach and fields:
        if fields[0] != FOREACH_KEY:
            return (
                f"{where}{_shown(fields[:1])}: a foreach step's output holds only "
                f"{FOREACH_KEY!r} (the items' outputs, in order)"
            )
        if len(fields) < 2 or not isinstance(fields[1], int):
            return None
        where += _shown(fields[:2])
        fields = fields[2:]
    return _walk(shape, where, fields)


def output_problems(
    struct: type[msgspec.Struct], output: Mapping[str, Any], *, partial: bool = False
) -> list[str]:
    """How ``output`` (what an action returned, JSON-like) differs from the Struct its action
    declares, as ``output.<path>: message``; an output Struct should forbid unknown fields, so
    that a key it does not declare is reported too.

    :param partial: a field the output leaves out is no problem (a rehearsal's stub gives only
        what the test needs).
    """
    return [
        f"{path}: {message}"
        for path, message, _ in check_against(dict(output), struct, "output")
        if not (partial and message.startswith(MISSING_KEY))
    ]


def workflow_outputs(files: Iterable[Any]) -> dict[str, frozenset[str]]:
    """Workflow name -> the names of its ``outputs:``, for the files' data (a name two files
    give is left out: which one a step starts is not known)."""
    found: dict[str, frozenset[str]] = {}
    twice: set[str] = set()
    for data in files:
        name = data.get("name") if isinstance(data, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in found:
            twice.add(name)
        outputs = data.get("outputs")
        found[name] = (
            frozenset(str(k) for k in outputs) if isinstance(outputs, dict) else frozenset()
        )
    return {name: outputs for name, outputs in found.items() if name not in twice}
