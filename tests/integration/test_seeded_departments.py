"""Every department the shipped workflows name exists once ``govflow seed`` (or ``govflow up``)
has run: the owning department and those their steps assign work to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from govflow.adapters.db.seed import DEPARTMENTS

EXAMPLES = Path(__file__).resolve().parents[2] / "workflows.d"


def departments_named(node: Any) -> Iterator[str]:
    """Every value of a ``department`` key, anywhere in a workflow file."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "department" and isinstance(value, str):
                yield value
            else:
                yield from departments_named(value)
    elif isinstance(node, list):
        for item in node:
            yield from departments_named(item)


def test_departments_named_finds_nested_assignments() -> None:
    document = {"department": "a", "steps": [{"with": {"assignee": {"department": "b"}}}]}
    assert sorted(departments_named(document)) == ["a", "b"]


def test_every_department_the_examples_name_is_seeded() -> None:
    seeded = {code for code, _ in DEPARTMENTS}
    files = sorted(EXAMPLES.glob("*.y*ml"))
    assert files
    named = {
        (path.name, code)
        for path in files
        for code in departments_named(yaml.safe_load(path.read_text()))
    }
    assert {name for name, _ in named} == {path.name for path in files}
    missing = sorted((name, code) for name, code in named if code not in seeded)
    assert not missing, f"departments the seed does not create: {missing}"
