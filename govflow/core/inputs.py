"""Execution inputs: the values given when an execution starts, checked against the spec.

Error tree::

    InputError       the given inputs do not fit the workflow; carries (path, message) pairs
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from govflow.core.patterns import MatchBudget, PatternError, ValueTooLong, matches
from govflow.core.spec import InputSpec, WorkflowSpec

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


class InputError(Exception):
    """The inputs given to an execution do not fit the workflow."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


def _is_type(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _bounds(low: float | None, high: float | None, size: float, what: str) -> list[str]:
    problems = []
    if low is not None and size < low:
        problems.append(f"{what} must be at least {low}, got {size}")
    if high is not None and size > high:
        problems.append(f"{what} must be at most {high}, got {size}")
    return problems


def check_value(spec: InputSpec, value: Any, budget: MatchBudget | None = None) -> list[str]:
    """Why ``value`` does not fit ``spec`` (empty when it fits).

    :param budget: what pattern matching may still spend (see :mod:`govflow.core.patterns`);
        a fresh budget when not given.
    """
    if spec.type == "enum":
        allowed = spec.values or []
        if not any(v == value and isinstance(v, bool) == isinstance(value, bool) for v in allowed):
            choices = ", ".join(repr(v) for v in allowed)
            return [f"must be one of {choices}, got {value!r}"]
        return []
    if not _is_type(spec.type, value):
        return [f"expected {_TYPE_WORDS[spec.type]}, got {value!r}"]
    if isinstance(value, str):
        problems = _bounds(spec.min_length, spec.max_length, len(value), "length")
        if spec.pattern is not None and not problems:
            try:
                if not matches(spec.pattern, value, budget):
                    problems.append(f"{_shown(value)} does not match the pattern {spec.pattern!r}")
            except ValueTooLong as error:
                problems.append(str(error))
            except PatternError as error:
                problems.append(f"the pattern {spec.pattern!r} cannot be used: {error}")
        return problems
    if spec.type in ("integer", "number"):
        return _bounds(spec.minimum, spec.maximum, value, "value")
    if isinstance(value, list):
        problems = _bounds(spec.min_items, spec.max_items, len(value), "number of items")
        if spec.items is not None:
            for index, item in enumerate(value):
                if not _is_type(spec.items, item):
                    problems.append(
                        f"item [{index}]: expected {_TYPE_WORDS[spec.items]}, got {item!r}"
                    )
        return problems
    return []


def _shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for an error message, cut after ``limit`` characters."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"


def validate_execution_inputs(spec: WorkflowSpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs an execution runs with: ``given`` checked, with defaults filled in.

    :raises InputError: an input is unknown, missing, of the wrong type, outside its bounds,
        not matching its pattern or not one of its values. Every problem is reported, each as
        (``inputs.<name>``, message).
    """
    problems: list[tuple[str, str]] = []
    result: dict[str, Any] = {}
    budget = MatchBudget()
    for name in given:
        if name not in spec.inputs:
            known = ", ".join(sorted(spec.inputs)) or "none"
            problems.append((f"inputs.{name}", f"unknown input (known inputs: {known})"))
    for name, input_spec in spec.inputs.items():
        path = f"inputs.{name}"
        if name in given:
            value = given[name]
        elif input_spec.default is not msgspec.UNSET:
            result[name] = input_spec.default
            continue
        elif input_spec.is_required:
            problems.append((path, "is required"))
            continue
        else:
            result[name] = None
            continue
        problems.extend((path, message) for message in check_value(input_spec, value, budget))
        result[name] = value
    if problems:
        raise InputError(problems)
    return result
