"""The words an author reads when a value does not fit its type: exact, as the CLI prints them."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
import pytest

from govflow.core.struct_check import describe, join_path, suggest, translate


def test_a_value_is_pictured_briefly() -> None:
    assert describe(None) == "nothing (null)"
    assert describe({"a": 1}) == "a mapping"
    assert describe([1]) == "a list"
    assert describe("x" * 58) == "'" + "x" * 58 + "'"  # 60 characters: shown whole
    assert describe("x" * 59) == "'" + "x" * 56 + "..."  # 61: cut to 57 and an ellipsis
    assert len(describe("y" * 500)) == 60


def test_the_closest_choice_is_suggested() -> None:
    assert suggest("asignee", {"assignee", "reviewers", "title"}) == " (did you mean 'assignee'?)"
    assert suggest("tilte", ["title", "titles"]) == " (did you mean 'title'?)"
    assert suggest("zzz", {"assignee"}) == ""
    assert suggest("abcdef", {"abcxyz"}) == ""  # ratio 0.5: under the cutoff


def _message(annotation: object, value: object) -> str:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as exc:
        return str(exc)
    raise AssertionError("the value was accepted")


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (int, "7", "expected an integer, got '7'"),
        (str, None, "expected text, got nothing (null)"),
        (bool, 1, "expected true or false, got 1"),
        (list[int], {"a": 1}, "expected a list, got a mapping"),
        (Annotated[str, msgspec.Meta(min_length=3)], "ab", "length must be at least 3, got 'ab'"),
        (
            Annotated[list[int], msgspec.Meta(max_length=1)],
            [1, 2],
            "length must be at most 1, got a list",
        ),
        (Annotated[int, msgspec.Meta(ge=1)], 0, "value must be at least 1, got 0"),
        (Annotated[float, msgspec.Meta(gt=0)], -1.5, "value must be more than 0.0, got -1.5"),
        (Annotated[float, msgspec.Meta(lt=1)], 2.5, "value must be less than 1.0, got 2.5"),
        (
            Annotated[str, msgspec.Meta(pattern="^[a-z]+$")],
            "A1",
            "'A1' does not match the pattern '^[a-z]+$'",
        ),
        (Literal["a", "b"], "c", "'c' is not one of the allowed values"),
    ],
)
def test_msgspec_messages_are_put_in_an_authors_words(
    annotation: object, value: object, expected: str
) -> None:
    assert translate(_message(annotation, value), value) == ("", expected)


def test_the_place_inside_the_value_is_kept_apart() -> None:
    class Inner(msgspec.Struct):
        n: int

    message = _message(list[Inner], [{"n": 1}, {"n": "x"}])
    assert translate(message, "x") == ("[1].n", "expected an integer, got 'x'")
    assert translate("Object contains unknown field `x`", None) == (
        "",
        "object contains unknown field `x`",
    )


def test_paths_are_joined_as_the_spec_writes_them() -> None:
    assert join_path("$", ".assignee") == "assignee"
    assert join_path("steps[0].with", ".assignee") == "steps[0].with.assignee"
    assert join_path("steps[0].with", "[2].role") == "steps[0].with[2].role"
    assert join_path("steps[0].with", "") == "steps[0].with"
