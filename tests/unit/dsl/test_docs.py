"""``docs/dsl.md`` documents every DSL key, and its complete examples are valid workflows for the
installed actions (tests/integration/test_docs_executed.py also runs them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args, get_origin

import msgspec
import pytest

from govflow.core.spec import WorkflowSpec
from govflow.core.validation import validate_workflow
from govflow.core.versioning import content_hash
from govflow.plugins import PluginManager

DOC_ACTIONS = PluginManager.from_env({}).actions().inputs()

DOC = Path(__file__).resolve().parents[3] / "docs" / "dsl.md"
MARKED = re.findall(
    r"(?:<!-- example: (\w+) -->\n)?```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL
)
BLOCKS = [block for _, block in MARKED]
# complete workflows: a fragment or a refused example (see tests/support/doc_examples.py) is not
WORKFLOWS = [
    block
    for marker, block in MARKED
    if not marker and re.search(r"^steps:", block, flags=re.MULTILINE)
]


def _struct_types(annotation: Any) -> list[type[msgspec.Struct]]:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return [annotation]
    return [found for arg in get_args(annotation) for found in _struct_types(arg)]


def _keys(struct: type[msgspec.Struct], seen: set[type[msgspec.Struct]]) -> set[str]:
    seen.add(struct)
    keys: set[str] = set()
    for field in msgspec.structs.fields(struct):
        keys.add(field.encode_name)
        for inner in _struct_types(field.type):
            if inner not in seen:
                keys |= _keys(inner, seen)
    return keys


def test_there_are_workflow_examples() -> None:
    assert len(WORKFLOWS) >= 5


@pytest.mark.parametrize("block", WORKFLOWS, ids=[f"example{i}" for i in range(len(WORKFLOWS))])
def test_doc_example_is_valid(block: str) -> None:
    validate_workflow(block, "docs/dsl.md", DOC_ACTIONS)


@pytest.mark.parametrize("key", sorted(_keys(WorkflowSpec, set())))
def test_every_spec_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOC.read_text(), f"DSL key {key!r} is not documented in docs/dsl.md"


def test_every_spec_key_has_a_yaml_example() -> None:
    text = "\n".join(BLOCKS)
    missing = [key for key in _keys(WorkflowSpec, set()) if f"{key}:" not in text]
    assert missing == []


def test_versioning_example_pair_hashes_equal() -> None:
    same = [b for b in WORKFLOWS if "name: same" in b]
    assert len(same) == 2
    first, second = (validate_workflow(b, "dsl.md", DOC_ACTIONS) for b in same)
    assert content_hash(first) == content_hash(second)


def test_struct_walk_sees_nested_types() -> None:
    assert get_origin(list[int]) is list
    assert {"max_attempts", "with", "if", "min_items"} <= _keys(WorkflowSpec, set())
