"""The JSON Schema of the workflow DSL, generated from the spec Structs and the actions' inputs.

``msgspec.json.schema_components`` writes the schema of :class:`~govflow.core.spec.WorkflowSpec`
and of every action's input Struct; then each step's ``with`` is tied to its action with one
``if``/``then`` per action. Wherever an action expects something other than text, a template
string (``"{{ inputs.count }}"``) is accepted too, as the validator does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from govflow.core.spec import StepSpec, WorkflowSpec
from govflow.core.step_templates import MAX_REF_LENGTH, USES

SCHEMA_ID = "https://govflow.dev/schema/workflow.schema.json"
USES_SCHEMA: dict[str, Any] = {
    "description": "A step template file, relative to the workflow file (./steps/notify.yaml);"
    " the step's own keys override the template's.",
    "type": "string",
    "maxLength": MAX_REF_LENGTH,
    "pattern": r"^(\./)?([A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\.ya?ml$",
}
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": r"\{\{",
    "description": "A template, checked after rendering.",
}


def _ref_name(ref: Mapping[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _accepts_text(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "string" and "pattern" not in schema and "enum" not in schema:
        return True
    return any(_accepts_text(option) for option in schema.get("anyOf", ()))


def _allow_templates(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` whose properties also accept a template string."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    relaxed = {
        name: prop if _accepts_text(prop) else {"anyOf": [prop, TEMPLATE_SCHEMA]}
        for name, prop in properties.items()
    }
    return {**schema, "properties": relaxed}


def generate_schema(actions: Mapping[str, type[msgspec.Struct]]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow file for the given actions.

    :param actions: action name -> the action's input Struct.
    """
    names = sorted(actions)
    types = (WorkflowSpec, StepSpec, *(actions[name] for name in names))
    refs, defs = msgspec.json.schema_components(types, ref_template="#/$defs/{name}")
    spec_defs = set(msgspec.json.schema_components((WorkflowSpec,))[1])
    defs = {
        name: definition if name in spec_defs else _allow_templates(definition)
        for name, definition in defs.items()
    }
    step_name = _ref_name(refs[1])
    step = dict(defs[step_name])
    properties = dict(step["properties"])
    if names:
        properties["action"] = {
            "description": "The action this step runs.",
            "enum": names,
        }
    properties[USES] = USES_SCHEMA
    step["properties"] = properties
    # A step names its action, or takes it from the template it uses.
    step["required"] = [key for key in step.get("required", ()) if key != "action"]
    step["anyOf"] = [{"required": ["action"]}, {"required": [USES]}]
    step["allOf"] = [
        {
            "if": {"properties": {"action": {"const": name}}, "required": ["action"]},
            "then": {"properties": {"with": ref}},
        }
        for name, ref in zip(names, refs[2:], strict=True)
    ]
    defs[step_name] = step
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "GovFlow workflow",
        **refs[0],
        "$defs": defs,
    }
