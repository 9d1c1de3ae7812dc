"""Department codes an action's inputs name, found in a workflow file for checking against the
database.

An action marks an input that names a department by typing it :data:`DepartmentRef` (the JSON
Schema shows it as ``"x-govflow-ref": "department"``). :func:`department_references` walks each
step's ``with:`` beside its action's input type and yields every such code written literally,
with its spec path; a template (``"{{ inputs.department }}"``) is only known at run time, where
the action resolves it.

Users are found the same way (:func:`user_references`): an input whose type carries
``msgspec.Meta(extra={"x-govflow-ref": "user"})`` names a user by email; a ``str | list[...]``
union whose list items are such emails takes one email as well.
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
USER = "user"

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


def _names_department(annotation: Any, kind: str = DEPARTMENT) -> bool:
    while get_origin(annotation) is Annotated:
        base, *metas = get_args(annotation)
        for meta in metas:
            if isinstance(meta, msgspec.Meta) and (meta.extra or {}).get(REF_KEY) == kind:
                return True
        annotation = base
    return False


def _one_of_a_list(members: tuple[Any, ...], kind: str) -> bool:
    """Whether a union holds a list of ``kind`` references (its plain ``str`` then names one)."""
    return any(
        get_origin(_base(member)) is list and _names_department(get_args(_base(member))[0], kind)
        for member in members
    )


def _base(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _walk(
    value: Any, annotation: Any, path: str, kind: str = DEPARTMENT
) -> Iterator[tuple[str, str]]:
    if is_template(value):
        return
    if _names_department(annotation, kind):
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
                    yield from _walk(value[field.encode_name], field.type, child, kind)
    elif origin in (Union, types.UnionType):
        members = get_args(base)
        if isinstance(value, str) and _one_of_a_list(members, kind):
            yield path, value
            return
        seen: set[tuple[str, str]] = set()
        for member in members:
            for found in _walk(value, member, path, kind):
                if found not in seen:
                    seen.add(found)
                    yield found
    elif origin is list and isinstance(value, list):
        (item_type,) = get_args(base)
        for index, item in enumerate(value):
            yield from _walk(item, item_type, child_path(path, index), kind)
    elif origin is dict and isinstance(value, dict):
        item_type = get_args(base)[1]
        for key, item in value.items():
            yield from _walk(item, item_type, child_path(path, str(key)), kind)


def department_references(
    data: Mapping[str, Any], actions: Mapping[str, type[msgspec.Struct]]
) -> list[tuple[str, str]]:
    """(spec path, code) of every department a step's ``with:`` names literally, in file order.

    :param data: a workflow file's document (already validated).
    :param actions: action name -> the action's input Struct.
    """
    return _references(data, actions, DEPARTMENT)


def user_references(
    data: Mapping[str, Any], actions: Mapping[str, type[msgspec.Struct]]
) -> list[tuple[str, str]]:
    """(spec path, email) of every user a step's ``with:`` names literally, in file order."""
    return _references(data, actions, USER)


def _references(
    data: Mapping[str, Any], actions: Mapping[str, type[msgspec.Struct]], kind: str
) -> list[tuple[str, str]]:
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
        found.extend(_walk(with_block, inputs, path, kind))
    return found
