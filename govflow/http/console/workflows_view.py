"""What the workflow pages show: the start form generated from a workflow's ``inputs`` (and
the posted values read back into typed inputs), the YAML source with its problems at their
line and column, and the diagram of a version.

Plain functions; the use cases validate everything again (the form only helps the person).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from govflow.core.spec_errors import SpecProblem
from govflow.http.console.workflows_diagram import FlowNode, flow_svg

INPUT_PREFIX = "input."
"""Form fields of a workflow's inputs are named ``input.<name>``."""
IDEMPOTENCY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class InputField:
    """One control of the start form."""

    name: str
    form_name: str
    label: str
    kind: str
    control: str
    required: bool
    value: str
    checked: bool = False
    hint: str = ""
    choices: list[Choice] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _hint(spec: Mapping[str, Any]) -> str:
    parts = [str(spec.get("description") or "")]
    if spec.get("pattern"):
        parts.append(f"pattern {spec['pattern']}")
    kind = spec.get("type")
    if kind in ("array", "object"):
        parts.append(f"JSON {'list' if kind == 'array' else 'object'}")
    return "; ".join(p for p in parts if p)


def input_fields(inputs: Mapping[str, Any], posted: Mapping[str, Any] | None) -> list[InputField]:
    """The controls for a workflow's ``inputs`` (the spec's mapping), filled with ``posted``
    values when the form comes back with errors, else with the defaults."""
    fields = []
    for name, spec in inputs.items():
        kind = str(spec.get("type", "string"))
        required = spec.get("required")
        if required is None:  # required unless given a default (InputSpec.is_required)
            required = "default" not in spec
        form_name = f"{INPUT_PREFIX}{name}"
        if posted is not None:
            raw = posted.get(form_name)
            value = raw if isinstance(raw, str) else ""
        else:
            value = _text_of(spec.get("default"))
        attributes: dict[str, str] = {}
        control = "input"
        html_type = "text"
        if spec.get("values"):
            control = "select"
        elif kind == "boolean":
            control = "checkbox"
        elif kind in ("integer", "number"):
            html_type = "number"
            attributes["step"] = "1" if kind == "integer" else "any"
            for key, attr in (("minimum", "min"), ("maximum", "max")):
                if spec.get(key) is not None:
                    attributes[attr] = str(spec[key])
        elif kind in ("array", "object"):
            control = "textarea"
        else:
            for key, attr in (("min_length", "minlength"), ("max_length", "maxlength")):
                if spec.get(key) is not None:
                    attributes[attr] = str(spec[key])
        attributes["type"] = html_type
        checked = value in ("true", "on") if control == "checkbox" else False
        choices = [
            Choice(value=_text_of(v), label=_text_of(v), selected=_text_of(v) == value)
            for v in spec.get("values") or []
        ]
        fields.append(
            InputField(
                name=name,
                form_name=form_name,
                label=name.replace("_", " ").capitalize(),
                kind=kind,
                control=control,
                required=required and control != "checkbox",
                value=value,
                checked=checked,
                hint=_hint(spec),
                choices=choices,
                attributes=attributes,
            )
        )
    return fields


def posted_inputs(
    inputs: Mapping[str, Any], posted: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The typed inputs of a posted start form, and an error per field that cannot be read
    (the use case checks the rest: required, bounds, patterns)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in inputs.items():
        kind = str(spec.get("type", "string"))
        form_name = f"{INPUT_PREFIX}{name}"
        raw = posted.get(form_name)
        text = raw if isinstance(raw, str) else ""
        if kind == "boolean" and not spec.get("values"):
            values[name] = text in ("on", "true")
            continue
        if text == "":
            continue  # absent: the default applies, or the use case says it is required
        if spec.get("values"):
            matches = [v for v in spec["values"] if _text_of(v) == text]
            if matches:
                values[name] = matches[0]
            else:
                errors[form_name] = "choose one of the listed values"
            continue
        try:
            values[name] = _typed(kind, text)
        except ValueError as exc:
            errors[form_name] = str(exc)
    return values, errors


def _typed(kind: str, text: str) -> Any:
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError("a whole number") from None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("a number") from None
        return int(number) if number.is_integer() and "." not in text else number
    if kind in ("array", "object"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            wanted = "a list like [1, 2]" if kind == "array" else "an object"
            raise ValueError(f"JSON: {wanted}") from None
        return value
    return text


def start_errors(problems: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``{"input.who": "..."}`` from the use case's ``("body.inputs.who", "...")``."""
    errors: dict[str, str] = {}
    for path, message in problems:
        rest = path.removeprefix("body.").removeprefix("inputs")
        name = re.split(r"[.\[]", rest.lstrip("."), maxsplit=1)[0] if rest else ""
        key = f"{INPUT_PREFIX}{name}" if name else "form"
        detail = message if rest.lstrip(".") == name else f"{rest.lstrip('.')}: {message}"
        errors[key] = f"{errors[key]}; {detail}" if key in errors else detail
    return errors


# -- source and diagram -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    problems: list[str]


def source_lines(source: str, problems: Sequence[SpecProblem] = ()) -> list[SourceLine]:
    """The YAML source line by line, each with the problems found on it."""
    by_line: dict[int, list[str]] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(
            f"{problem.line}:{problem.col}: {problem.path}: {problem.message}"
        )
    lines = source.splitlines() or [""]
    return [
        SourceLine(number=i, text=line, problems=by_line.get(i, []))
        for i, line in enumerate(lines, start=1)
    ]


def problem_lines(problems: Sequence[SpecProblem]) -> list[str]:
    """``file:line:col: path: message``, as ``govflow workflows validate`` prints them."""
    return [problem.format() for problem in problems]


def spec_diagram(spec: Mapping[str, Any], title: str) -> Markup:
    """The flow of a version's steps (with their ``if:`` conditions)."""
    nodes = [
        FlowNode(
            key=str(step.get("id", "?")),
            action=str(step.get("action", "?")),
            condition=step.get("if"),
        )
        for step in spec.get("steps", [])
        if isinstance(step, dict)
    ]
    return flow_svg(nodes, title=title)
