"""Safe YAML loading and node positions."""

from __future__ import annotations

import pytest

from govflow.core.spec_errors import SpecError, SpecProblem
from govflow.core.yaml_source import MAX_BYTES, child_path, load_yaml, parent_path

TEXT = """# a comment
name: x
steps:
  - id: a
    with: {issue: "{{ inputs.k }}", day: 2024-01-01, flag: yes}
"""


def test_data_is_plain_and_timestamps_stay_text() -> None:
    source = load_yaml(TEXT, "f.yaml")
    assert source.data == {
        "name": "x",
        "steps": [
            {"id": "a", "with": {"issue": "{{ inputs.k }}", "day": "2024-01-01", "flag": True}}
        ],
    }


def test_positions() -> None:
    source = load_yaml(TEXT, "f.yaml")
    assert source.position("name") == (2, 7)
    assert source.position("steps[0].with.issue") == (5, 19)
    assert source.position("steps[0].with") == (5, 5)
    assert source.key_position("steps[0].with.issue") == (5, 12)
    assert source.position("steps[0].with.missing") == (5, 5)
    assert source.position("steps[7]") == (3, 1)
    assert source.position("$") == (2, 1)


def test_paths() -> None:
    assert child_path("$", "steps") == "steps"
    assert child_path("steps", 2) == "steps[2]"
    assert child_path("steps[2]", "with") == "steps[2].with"
    assert parent_path("steps[2].with") == "steps[2]"
    assert parent_path("steps[2]") == "steps"
    assert parent_path("steps") == "$"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: *x\n", "anchors are not allowed"),
        ("a: !!python/object:os.system 1\n", "tag '!!python/object:os.system' is not allowed"),
        ("a: 1\na: 2\n", "duplicate key 'a' (first at line 1)"),
        ("a: 1\n---\nb: 2\n", "exactly one document"),
        ("- 1\n", "top level must be a mapping"),
        ("", "the file is empty"),
        ("a: " + "[" * 33 + "]" * 33, "deeper than 32"),
        ("a: b: c\n", "invalid YAML"),
        ("? [a]\n: 1\n", "mapping keys must be plain text"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_yaml(text, "f.yaml")
    assert message in str(caught.value)


def test_depth_limit_is_inclusive() -> None:
    load_yaml("a: " + "[" * 31 + "]" * 31, "f.yaml")


def test_too_big() -> None:
    with pytest.raises(SpecError, match="more than the limit"):
        load_yaml("a: " + "x" * MAX_BYTES, "f.yaml")


def test_problem_format() -> None:
    problem = SpecProblem(file="f.yaml", line=3, col=5, path="steps[0].id", message="bad")
    assert problem.format() == "f.yaml:3:5: steps[0].id: bad"
    assert str(SpecError([problem])) == "f.yaml:3:5: steps[0].id: bad"
