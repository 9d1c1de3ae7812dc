"""The request screen's checks on decoded values, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from govflow.core.spec_errors import SpecError
from govflow.core.yaml_source import load_yaml
from govflow.http.decoding import MAX_JSON_DEPTH, json_problem, text_problem


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plain", None),
        ("emoji \U0001f600", None),
        ("a\x00b", "must not contain NUL characters"),
        ("a\ud800b", "must not contain unpaired UTF-16 surrogates"),
        ("\udfff", "must not contain unpaired UTF-16 surrogates"),
    ],
)
def test_text_problem(text: str, reason: str | None) -> None:
    assert text_problem(text) == reason


def test_json_problem_names_the_path() -> None:
    assert json_problem({"a": [1, {"b": "ok"}], "c": None}) is None
    assert json_problem({"a": [1, {"b": "x\x00"}]}) == ("a[1].b", "must not contain NUL characters")
    assert json_problem({"a": {"k\ud800": 1}}) == (
        "a",
        "a key must not contain unpaired UTF-16 surrogates",
    )
    assert json_problem(["\x00"]) == ("[0]", "must not contain NUL characters")


def test_json_problem_bounds_depth_without_recursion() -> None:
    value: Any = "leaf"
    for _ in range(100_000):
        value = [value]
    problem = json_problem(value)
    assert problem is not None
    assert problem[0] == "[0]" * MAX_JSON_DEPTH
    assert problem[1] == f"nests deeper than {MAX_JSON_DEPTH} levels"


def test_yaml_refuses_nul_in_keys_and_values_with_position() -> None:
    text = 'name: x\ntitle: "a\\0b"\nsteps:\n  - {"i\\0d": 1}\n'
    with pytest.raises(SpecError) as raised:
        load_yaml(text, "w.yaml")
    found = [(p.path, p.line, p.col, p.message) for p in raised.value.problems]
    assert found == [
        ("title", 2, 8, "text must not contain NUL characters"),
        ("steps[0].i\x00d", 4, 6, "text must not contain NUL characters"),
    ]


def test_yaml_raw_control_character_has_its_line_and_column() -> None:
    with pytest.raises(SpecError) as raised:
        load_yaml("name: x\n\ntitle: ab\x00\n", "w.yaml")
    problem = raised.value.problems[0]
    assert (problem.line, problem.col) == (3, 10)
    assert problem.message == (
        "invalid YAML: unacceptable character #x0000: control characters are not allowed"
    )
