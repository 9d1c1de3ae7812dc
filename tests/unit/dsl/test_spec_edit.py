"""The YAML GovFlow writes: a workflow given as data, and a step inserted into a file."""

from __future__ import annotations

from typing import Any

import pytest

from govflow.core.spec_edit import insert_step, render_yaml
from govflow.core.yaml_source import load_yaml

FILE = """# kept
name: x  # the name
steps:
  # the first step
  - id: a
    with: {m: 1}
  - id: b
    with:
      msg: |
        hi
        there

# trailing
title: X
"""
STEP = {"id": "new", "action": "notification", "with": {"message": "two\nlines", "flag": "yes"}}
STEP_LINES = [
    "  - id: new",
    "    action: notification",
    "    with:",
    "      message: |-",
    "        two",
    "        lines",
    "      flag: 'yes'",
]


def _ids(text: str) -> list[str]:
    return [step["id"] for step in load_yaml(text, "t.yaml").data["steps"]]


@pytest.mark.parametrize(
    ("position", "ids", "line"),
    [(0, ["new", "a", "b"], 4), (1, ["a", "new", "b"], 6), (2, ["a", "b", "new"], 11)],
)
def test_the_step_is_written_among_the_files_lines(
    position: int, ids: list[str], line: int
) -> None:
    edited = insert_step(FILE, position, STEP)
    assert _ids(edited) == ids
    lines = edited.splitlines()
    assert lines[line : line + len(STEP_LINES)] == STEP_LINES
    assert lines[:line] + lines[line + len(STEP_LINES) :] == FILE.splitlines()
    assert load_yaml(edited, "t.yaml").data["steps"][position] == STEP


@pytest.mark.parametrize(
    "text",
    [
        "name: x\nsteps: [{id: a}, {id: b}]\n",  # flow style: rendered again
        "name: x\nsteps:\n- id: a\n- id: b\n  action: c",  # no final newline
        "name: x\nsteps:\n-\n  id: a\n-   id: b\n",  # a dash alone on its line
        "name: x\nsteps:\n  - id: a\n  - id: b\n    with:\n      t: |+\n        kept\n\n",
    ],
)
def test_any_layout_gets_exactly_the_step(text: str) -> None:
    for position in (0, 1, 2):
        edited = insert_step(text, position, STEP)
        expected = ["a", "b"]
        expected.insert(position, "new")
        assert _ids(edited) == expected
        data = load_yaml(edited, "t.yaml").data
        original = load_yaml(text, "t.yaml").data
        assert data["steps"][position] == STEP
        assert {k: v for k, v in data.items() if k != "steps"} == {
            k: v for k, v in original.items() if k != "steps"
        }


def test_a_position_outside_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        insert_step(FILE, 3, STEP)
    with pytest.raises(ValueError, match="no list of steps"):
        insert_step("name: x\n", 0, STEP)


@pytest.mark.parametrize(
    "value",
    ["yes", "2001-12-14", "1e3", "null", "", " lead", "trail ", "a: b", "#c", "x\n", "é ✓", 10**30],
)
def test_rendering_reads_back_as_the_same_data(value: Any) -> None:
    data = {"name": "x", "steps": [{"id": "a", "with": {"v": value, "l": [value, {"k": value}]}}]}
    assert load_yaml(render_yaml(data), "t.yaml").data == data


def test_rendering_keeps_the_given_key_order_in_block_style() -> None:
    text = render_yaml({"name": "x", "title": "X", "steps": [{"id": "a", "with": {}}]})
    assert text == "name: x\ntitle: X\nsteps:\n- id: a\n  with: {}\n"
