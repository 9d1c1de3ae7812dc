"""Input patterns run on RE2: linear time, bounded size, bounded work per execution start."""

from __future__ import annotations

import time

import msgspec
import pytest

from govflow.core.inputs import InputError, validate_execution_inputs
from govflow.core.patterns import (
    MATCH_BUDGET,
    MAX_PATTERN_LENGTH,
    MAX_PROGRAM_SIZE,
    MatchBudget,
    PatternError,
    ValueTooLong,
    check_pattern,
    compile_pattern,
    matches,
)
from govflow.core.spec import WorkflowSpec


def spec_with(**inputs: dict[str, object]) -> WorkflowSpec:
    return msgspec.convert(
        {
            "name": "patterns",
            "title": "Patterns",
            "department": "testing",
            "inputs": inputs,
            "steps": [{"id": "only", "action": "echo", "with": {"message": "m"}}],
        },
        WorkflowSpec,
    )


@pytest.mark.parametrize("pattern", [r"^(a+)+$", r"^(a|aa)+$", r"^(\w+\s?)*$", r"(x+x+)+y"])
def test_catastrophic_backtracking_patterns_answer_in_linear_time(pattern: str) -> None:
    hostile = "a" * 3_000 + "!"
    started = time.perf_counter()
    assert not matches(pattern, hostile)
    assert time.perf_counter() - started < 0.05


def test_a_hostile_start_is_refused_fast() -> None:
    spec = spec_with(x={"type": "string", "pattern": "^(a+)+$"})
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(spec, {"x": "a" * 24 + "!"})
    assert time.perf_counter() - started < 0.05
    ((path, message),) = caught.value.problems
    assert path == "inputs.x"
    assert "does not match the pattern '^(a+)+$'" in message


@pytest.mark.parametrize(
    ("pattern", "reason", "offset"),
    [
        (r"(a)\1", r"backreferences are not supported: \1", 3),
        (r"(?P<n>a)(?P=n)", "backreferences are not supported: (?P=", 8),
        (r"^(?=a)", "lookahead is not supported: (?=", 1),
        (r"^(?!TEST-)\w+", "lookahead is not supported: (?!", 1),
        (r"(?<=a)b", "lookbehind is not supported: (?<=", 0),
        (r"(?>a)", "atomic groups are not supported: (?>", 0),
        (r"ab\Z", r"\Z is not supported: use \z for the end of the text", 2),
        (r"[a-", "missing ]: [a-", 0),
        (r"a++", "bad repetition operator: ++", 1),
    ],
)
def test_what_the_engine_refuses_is_explained_with_its_position(
    pattern: str, reason: str, offset: int
) -> None:
    with pytest.raises(PatternError) as caught:
        check_pattern(pattern)
    assert caught.value.reason == reason
    assert caught.value.offset == offset
    assert str(caught.value) == f"{reason} (character {offset + 1} of the pattern)"


def test_long_and_complex_patterns_are_refused() -> None:
    with pytest.raises(PatternError, match=f"longer than {MAX_PATTERN_LENGTH} characters"):
        check_pattern("a" * (MAX_PATTERN_LENGTH + 1))
    with pytest.raises(PatternError, match=f"too complex .* at most {MAX_PROGRAM_SIZE}"):
        check_pattern(r"^\p{L}{1,50}$")
    check_pattern(r"^\p{L}+$")  # the same intent, bounded with max_length instead
    with pytest.raises(PatternError, match="NUL"):
        check_pattern("a\x00")


def test_dollar_does_not_match_before_a_trailing_newline() -> None:
    assert matches(r"^[a-z]+$", "abc")
    assert not matches(r"^[a-z]+$", "abc\n")
    assert matches(r"^[a-z]+\z", "abc")


def test_matching_spends_a_budget_per_call() -> None:
    compiled = compile_pattern(r"^\p{L}+$")
    budget = MatchBudget()
    affordable = MATCH_BUDGET // compiled.programsize
    assert matches(r"^\p{L}+$", "a" * (affordable // 2), budget)
    with pytest.raises(ValueTooLong) as caught:
        matches(r"^\p{L}+$", "a" * affordable, budget)
    assert caught.value.limit == budget.remaining // compiled.programsize
    assert matches(r"^\p{L}+$", "a" * caught.value.limit, budget)


def test_a_start_whose_values_exceed_the_budget_names_the_input() -> None:
    spec = spec_with(
        a={"type": "string", "pattern": r"^\p{L}+$"},
        b={"type": "string", "pattern": r"^\p{L}+$"},
    )
    size = compile_pattern(r"^\p{L}+$").programsize
    long_value = "é" * (MATCH_BUDGET // size // 2 // 2)  # two UTF-8 bytes per character
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(spec, {"a": long_value, "b": long_value + "éé"})
    ((path, message),) = caught.value.problems
    assert path == "inputs.b"
    assert message.startswith("too long to be checked against the pattern")


def test_a_value_outside_its_length_bounds_is_not_matched() -> None:
    spec = spec_with(x={"type": "string", "pattern": r"^\p{L}+$", "max_length": 10})
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(spec, {"x": "a" * 5_000_000})
    assert caught.value.problems == [("inputs.x", "length must be at most 10, got 5000000")]


def test_a_long_mismatching_value_is_shortened_in_the_message() -> None:
    spec = spec_with(x={"type": "string", "pattern": "^[0-9]+$"})
    with pytest.raises(InputError) as caught:
        validate_execution_inputs(spec, {"x": "z" * 500})
    ((_, message),) = caught.value.problems
    assert message == f"{'z' * 80!r}... (500 characters) does not match the pattern '^[0-9]+$'"
