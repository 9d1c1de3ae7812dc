"""Form bounds at their exact edges, for every kind of field that has them."""

from __future__ import annotations

import pytest

from govflow.core.tasks.forms import FormField, validate_form
from govflow.core.tasks.refusals import FormProblem, TaskFormRefusal

FIELDS = {
    "name": FormField(type="string", min=2, max=5),
    "count": FormField(type="integer", min=1, max=10),
    "share": FormField(type="number", min=0.5, max=1.5),
    "on": FormField(type="date", min="2026-01-01", max="2026-12-31"),
    "done": FormField(type="boolean"),
}


@pytest.mark.parametrize(
    "values",
    [
        {"name": "ab", "count": 1, "share": 0.5, "on": "2026-01-01", "done": False},
        {"name": "abcde", "count": 10, "share": 1.5, "on": "2026-12-31", "done": True},
    ],
    ids=["lowest", "highest"],
)
def test_values_at_the_bounds_are_accepted(values: dict[str, object]) -> None:
    assert validate_form(FIELDS, values) == values


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("name", "a", "length must be at least 2, got 1"),
        ("name", "abcdef", "length must be at most 5, got 6"),
        ("count", 0, "value must be at least 1, got 0"),
        ("count", 11, "value must be at most 10, got 11"),
        ("share", 0.25, "value must be at least 0.5, got 0.25"),
        ("share", 2, "value must be at most 1.5, got 2"),
        ("on", "2025-12-31", "date must be at least 2026-01-01, got 2025-12-31"),
        ("on", "2027-01-01", "date must be at most 2026-12-31, got 2027-01-01"),
        ("done", 1, "expected true or false"),
        ("done", "true", "expected true or false"),
    ],
)
def test_values_past_a_bound_are_refused_naming_it(name: str, value: object, reason: str) -> None:
    with pytest.raises(TaskFormRefusal) as refused:
        validate_form(FIELDS, {name: value})
    assert refused.value.problems == (FormProblem(f"form.{name}", reason),)


def test_a_string_field_is_checked_like_a_text_field() -> None:
    for kind in ("string", "text"):
        with pytest.raises(TaskFormRefusal) as refused:
            validate_form({"note": FormField(type=kind)}, {"note": 3})
        assert refused.value.problems == (FormProblem("form.note", "expected a string"),)
