"""Workflow files written by GovFlow: a spec given as data, rendered as YAML, and a step
inserted into an existing file.

A workflow sent as JSON is stored as YAML, like every other version, so that versions stay
comparable line by line and the CLI and the console show one language. :func:`render_yaml` is
the canonical rendering: block style, keys in the order given, multi-line text as literal
blocks, one line per scalar otherwise.

:func:`insert_step` changes a stored file the way an author would: the new step's lines are
written into the ``steps:`` list at its position and every other line (comments included) stays
as it was. When the file's layout does not allow that (a flow-style ``steps: [...]``), or the
edited text would not read back as exactly the intended change, the whole document is rendered
again instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from govflow.core.spec_errors import SpecError
from govflow.core.yaml_source import load_yaml

_BaseDumper: type[Any] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_WIDTH = 2**31 - 1
"""No folding of long lines: a long text stays on one line."""


class _Dumper(_BaseDumper):  # type: ignore[misc]
    """Safe YAML, with multi-line text written as literal blocks (``|``)."""


def _text(dumper: Any, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data: Any) -> str:
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=_WIDTH,
    )
    return text


def render_yaml(data: Mapping[str, Any]) -> str:
    """The canonical YAML text of a workflow given as plain data (JSON types)."""
    return _dump(dict(data))


def _steps_node(text: str) -> yaml.SequenceNode | None:
    """The block sequence under the top-level ``steps`` key, if the file has one."""
    root = yaml.compose(text, Loader=_Loader)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "steps":
            if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
                return value
            return None
    return None


def _last_mark(node: yaml.Node) -> Any:
    """The end of the last text a node writes (a block collection's own end mark lies at the
    next token, past any comments that follow it)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    if not children:
        return node.end_mark
    return max((_last_mark(child) for child in children), key=lambda mark: mark.index)


def _spliced(text: str, position: int, step: Mapping[str, Any]) -> str | None:
    """``text`` with the step's lines written at ``position`` of its ``steps:`` list, or
    ``None`` when the list's layout does not allow it."""
    node = _steps_node(text)
    if node is None or not 0 <= position <= len(node.value):
        return None
    dash = node.start_mark.column
    lines = text.splitlines(keepends=True)
    if position < len(node.value):
        at = node.value[position].start_mark.line
        while at > 0 and not lines[at][dash:].startswith("-"):
            at -= 1
        if lines[at][:dash].strip():
            return None
    else:
        end = _last_mark(node.value[-1])
        at = end.line + 1 if end.column > 0 else end.line
        if at > len(lines):
            return None
        while at > node.value[-1].start_mark.line + 1 and not lines[at - 1].strip():
            at -= 1  # a block text's end lies past the blank lines that follow it
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
    block = "".join(
        (" " * dash + line if line.strip() else line)
        for line in _dump([dict(step)]).splitlines(keepends=True)
    )
    return "".join([*lines[:at], block, *lines[at:]])


def insert_step(text: str, position: int, step: Mapping[str, Any]) -> str:
    """A workflow file with ``step`` inserted at ``position`` (0 first; the number of steps
    appends) of its ``steps:`` list.

    :param text: a workflow file that loads (:func:`~govflow.core.yaml_source.load_yaml`).
    :raises SpecError: ``text`` does not load.
    :raises ValueError: ``text`` has no list of steps, or ``position`` lies outside it.
    """
    data = load_yaml(text, "workflow.yaml").data
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise ValueError("the workflow has no list of steps")
    if not 0 <= position <= len(steps):
        raise ValueError(f"position {position} is outside 0..{len(steps)}")
    wanted = {**data, "steps": [*steps[:position], dict(step), *steps[position:]]}
    edited = _spliced(text, position, step)
    if edited is not None:
        try:
            if load_yaml(edited, "workflow.yaml").data == wanted:
                return edited
        except SpecError:
            pass
    return render_yaml(wanted)
