"""Department codes an action's inputs name, found in a workflow file for checking against the
database.

An action marks an input that names a department by typing it :data:`DepartmentRef` (the JSON
Schema shows it as ``"x-govflow-ref": "department"``). :func:`department_references` walks each
step's ``with:`` beside its action's input type and yields every such code written literally,
with its spec path; a template (``"{{ inputs.department }}"``) is only known at run time, where
the action resolves it.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from govflow.core.expressions import is_template
from govflow.core.spec import DEPARTMENT_PATTERN
from govflow.core.yaml_source import child_path

REF_KEY = "x-govflow-ref"
DEPARTMENT = "department"

DepartmentRef = Annotated[
    str,
    msgspec.Meta(
        pattern=DEPARTMENT_PATTERN,
        max_length=64,
        description="A department's code (it must exist).",
        extra={REF_KEY: DEPARTMENT},
        extra_json_schema={REF_KEY: DEPARTMENT},
    ),
]
"""An action input that names a department by its code."""


def _names_department(annotation: Any) -> bool:
    while get_origin(annotation) is Annotated:
        base, *metas = get_args(annotation)
        for meta in metas:
            if isinstance(meta, msgspec.Meta) and (meta.extra or {}).get(REF_KEY) == DEPARTMENT:
                return True
        annotation = base
    return False


def _base(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _walk(value: Any, annotation: Any, path: str) -> Iterator[tuple[str, str]]:
    if is_template(value):
        return
    if _names_department(annotation):
        if isinstance(value, str):
            yield path, value
        return
    base = _base(annotation)
    origin = get_origin(base)
    if isinstance(base, type) and issubclass(base, msgspec.Struct):
        if isinstance(value, dict):
            for field in msgspec.structs.fields(base):
                if field.encode_name in value:
                    child = child_path(path, field.encode_name)
                    yield from _walk(value[field.encode_name], field.type, child)
    elif origin in (Union, types.UnionType):
        for member in get_args(base):
            yield from _walk(value, member, path)
    elif origin is list and isinstance(value, list):
        (item_type,) = get_args(base)
        for index, item in enumerate(value):
            yield from _walk(item, item_type, child_path(path, index))
    elif origin is dict and isinstance(value, dict):
        item_type = get_args(base)[1]
        for key, item in value.items():
            yield from _walk(item, item_type, child_path(path, str(key)))


def department_references(
    data: Mapping[str, Any], actions: Mapping[str, type[msgspec.Struct]]
) -> list[tuple[str, str]]:
    """(spec path, code) of every department a step's ``with:`` names literally, in file order.

    :param data: a workflow file's document (already validated).
    :param actions: action name -> the action's input Struct.
    """
    found: list[tuple[str, str]] = []
    steps = data.get("steps")
    if not isinstance(steps, list):
        return found
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        inputs = actions.get(step.get("action"))  # type: ignore[arg-type]
        with_block = step.get("with")
        if inputs is None or not isinstance(with_block, dict):
            continue
        path = child_path(child_path("steps", index), "with")
        found.extend(_walk(with_block, inputs, path))
    return found
