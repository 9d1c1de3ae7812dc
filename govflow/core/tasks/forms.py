"""Typed form fields of a human task and the validation of a submitted form.

A field is ``string`` (``text`` is the same), ``integer``, ``number``, ``boolean``, ``choice``
(``enum`` is the same; its ``options`` are the allowed values) or ``date`` (an ISO ``YYYY-MM-DD``
string). ``required`` fields must be present and not empty; ``min``/``max`` bound a number's
value, a string's length and a date (given as an ISO date). :func:`validate_form` checks every
field and every unknown key at once and raises one :class:`TaskFormRefusal` naming each field
path (``form.amount``); it returns the values with dates kept as their ISO text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

import msgspec

from govflow.core.tasks.refusals import FormProblem, TaskFormRefusal

FieldType = Literal["string", "text", "integer", "number", "boolean", "choice", "enum", "date"]


class FormField(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One field of a task's form."""

    type: FieldType
    label: str = ""
    required: bool = False
    options: tuple[str | int | float | bool, ...] = ()
    min: int | float | str | None = None
    max: int | float | str | None = None


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _bound_problems(low: object, high: object, size: Any, what: str) -> list[str]:
    problems = []
    if low is not None and size < low:
        problems.append(f"{what} must be at least {low}, got {size}")
    if high is not None and size > high:
        problems.append(f"{what} must be at most {high}, got {size}")
    return problems


def _field_problems(spec: FormField, value: object) -> list[str]:
    kind = spec.type
    if kind in ("string", "text"):
        if not isinstance(value, str):
            return ["expected a string"]
        return _bound_problems(spec.min, spec.max, len(value), "length")
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return ["expected an integer"]
        return _bound_problems(spec.min, spec.max, value, "value")
    if kind == "number":
        if not isinstance(value, int | float) or isinstance(value, bool):
            return ["expected a number"]
        return _bound_problems(spec.min, spec.max, value, "value")
    if kind == "boolean":
        return [] if isinstance(value, bool) else ["expected true or false"]
    if kind in ("choice", "enum"):
        allowed = [option for option in spec.options if type(option) is type(value)]
        if value not in allowed:
            options = ", ".join(repr(option) for option in spec.options)
            return [f"expected one of {options}, got {value!r}"]
        return []
    parsed = _parse_date(value)
    if parsed is None:
        return [f"expected a date as YYYY-MM-DD, got {value!r}"]
    return _bound_problems(_parse_date(spec.min), _parse_date(spec.max), parsed, "date")


def validate_form(
    fields: Mapping[str, FormField], values: Mapping[str, object] | None, prefix: str = "form"
) -> dict[str, object]:
    """Check ``values`` against ``fields``; return them, or raise TaskFormRefusal.

    Absent optional fields stay absent; ``None`` counts as absent, and so does an empty string
    for a required field (a required text must say something).
    """
    given = dict(values or {})
    problems = [
        FormProblem(f"{prefix}.{name}", "not a field of this form")
        for name in sorted(given)
        if name not in fields
    ]
    clean: dict[str, object] = {}
    for name, spec in fields.items():
        path = f"{prefix}.{name}"
        value = given.get(name)
        if value is None or (value == "" and spec.required):
            if spec.required:
                problems.append(FormProblem(path, "required"))
            continue
        field_problems = _field_problems(spec, value)
        problems.extend(FormProblem(path, reason) for reason in field_problems)
        if not field_problems:
            clean[name] = value
    if problems:
        raise TaskFormRefusal(problems)
    return clean
