"""A task's ``form`` as the inputs of its page, and the posted text back as typed values.

Each field becomes a real control: ``string`` a text input, ``text`` a text area, ``integer`` and
``number`` number inputs, ``boolean`` a checkbox, ``choice``/``enum`` a select of its options,
``date`` a date input; ``required``, ``min`` and ``max`` become the input's attributes. Posted
values are named ``form.<field>``; what does not parse is passed on as typed, so the lifecycle's
validation (:func:`govflow.core.tasks.forms.validate_form`) names the field and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "form."


@dataclass(frozen=True, slots=True)
class FormInput:
    """One control of the task's form."""

    name: str
    label: str
    control: str
    required: bool
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


_CONTROLS = {
    "string": "text",
    "text": "textarea",
    "integer": "number",
    "number": "number",
    "boolean": "checkbox",
    "choice": "select",
    "enum": "select",
    "date": "date",
}


def _attributes(kind: str, spec: Mapping[str, Any]) -> dict[str, str]:
    low, high = spec.get("min"), spec.get("max")
    attributes: dict[str, str] = {}
    if kind in ("string", "text"):
        if low is not None:
            attributes["minlength"] = str(low)
        if high is not None:
            attributes["maxlength"] = str(high)
        return attributes
    if kind in ("integer", "number", "date"):
        if low is not None:
            attributes["min"] = str(low)
        if high is not None:
            attributes["max"] = str(high)
    if kind in ("integer", "number"):
        attributes["step"] = "1" if kind == "integer" else "any"
    return attributes


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def form_inputs(form: Mapping[str, Any], values: Mapping[str, Any] | None) -> list[FormInput]:
    """The controls of ``form`` (the task's fields), filled with ``values``."""
    inputs = []
    for name, spec in form.items():
        kind = str(spec.get("type", "string"))
        value = (values or {}).get(name)
        inputs.append(
            FormInput(
                name=f"{PREFIX}{name}",
                label=str(spec.get("label") or name.replace("_", " ").capitalize()),
                control=_CONTROLS.get(kind, "text"),
                required=bool(spec.get("required", False)),
                value=value if kind == "boolean" else _shown(value),
                options=[(_shown(option), _shown(option)) for option in spec.get("options", ())],
                attributes=_attributes(kind, spec),
            )
        )
    return inputs


def _number(text: str, kind: str) -> Any:
    try:
        return int(text) if kind == "integer" else _int_or_float(text)
    except ValueError:
        return text


def _int_or_float(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def posted_form(form: Mapping[str, Any], posted: Mapping[str, Any]) -> dict[str, Any]:
    """The posted ``form.<field>`` values, typed as the fields declare; empty ones left out
    (a required one is kept empty, for the lifecycle to refuse as required)."""
    values: dict[str, Any] = {}
    for name, spec in form.items():
        kind = str(spec.get("type", "string"))
        raw = posted.get(f"{PREFIX}{name}")
        if kind == "boolean":
            values[name] = raw in ("true", "on", "1")
            continue
        text = raw.strip() if isinstance(raw, str) else ""
        if not text:
            if spec.get("required"):
                values[name] = ""
            continue
        if kind in ("integer", "number"):
            values[name] = _number(text, kind)
        elif kind in ("choice", "enum"):
            options = {_shown(option): option for option in spec.get("options", ())}
            values[name] = options.get(text, text)
        else:
            values[name] = raw if kind == "text" else text
    return values
