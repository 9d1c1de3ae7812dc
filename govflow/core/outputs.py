"""Workflow outputs: the rendered values checked against their declared types.

An execution of a workflow with ``outputs:`` ends with a step of GovFlow's own
(:data:`~govflow.core.spec.OUTPUTS_ACTION`) whose ``with:`` is the outputs' values: the worker
renders it like any step's and :func:`check_outputs` checks each value against its ``type``.
A value that cannot be rendered or does not fit fails that step, and with it the execution,
with ``OUTPUTS_INVALID``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govflow.core.spec import OutputType, WorkflowSpec

_KINDS: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}
_NAMES = {
    str: "text",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    tuple: "an array",
    dict: "an object",
    type(None): "null",
}


def fits(value: Any, kind: OutputType) -> bool:
    """Whether ``value`` (JSON-like data) is of the output type ``kind`` (a boolean is not a
    number)."""
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, _KINDS[kind])


def describe(value: Any) -> str:
    """What kind of JSON value ``value`` is, in words."""
    return _NAMES.get(type(value), type(value).__name__)


def check_outputs(spec: WorkflowSpec, values: Mapping[str, Any]) -> list[str]:
    """Every value of ``values`` (output name -> rendered value) that does not fit the type its
    output declares, as ``outputs.<name>: expected <type>, got <kind>``."""
    problems = []
    for name, value in values.items():
        kind = spec.outputs[name].type
        if kind is not None and not fits(value, kind):
            problems.append(f"outputs.{name}: expected {kind}, got {describe(value)}")
    return problems
