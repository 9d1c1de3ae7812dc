"""The password policy, rule by rule: each rule refuses on its own, and only its own problem."""

from __future__ import annotations

import pytest

from govflow.core.passwords import MAX_LENGTH, MIN_LENGTH, password_problems

GOOD = "Correct1horse"
"""Thirteen characters with a lowercase letter, an uppercase letter and a digit."""


def test_a_password_that_keeps_every_rule_has_no_problem() -> None:
    assert password_problems(GOOD) == []


def test_the_length_bounds_are_inclusive() -> None:
    shortest = "Aa1" + "b" * (MIN_LENGTH - 3)
    longest = "Aa1" + "b" * (MAX_LENGTH - 3)
    assert (len(shortest), len(longest)) == (MIN_LENGTH, MAX_LENGTH)
    assert password_problems(shortest) == []
    assert password_problems(longest) == []


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Aa1" + "b" * (MIN_LENGTH - 4), f"must be at least {MIN_LENGTH} characters long"),
        ("Aa1" + "b" * (MAX_LENGTH - 2), f"must be at most {MAX_LENGTH} characters long"),
        ("CORRECT1HORSE", "must contain a lowercase letter"),
        ("correct1horse", "must contain an uppercase letter"),
        ("Correct-horse", "must contain a digit"),
        (" Correct1horse", "must not start or end with white space"),
        ("Correct1horse\t", "must not start or end with white space"),
    ],
    ids=["too-short", "too-long", "no-lowercase", "no-uppercase", "no-digit", "lead", "trail"],
)
def test_each_rule_refuses_on_its_own(password: str, problem: str) -> None:
    assert password_problems(password) == [problem]


def test_white_space_inside_is_allowed() -> None:
    assert password_problems("Correct 1 horse") == []


def test_letters_and_digits_of_other_scripts_count() -> None:
    assert password_problems("Ünïcödé\u0661ßtraße") == []  # an Arabic-Indic digit one


def test_every_broken_rule_is_reported_at_once() -> None:
    assert password_problems(" ") == [
        f"must be at least {MIN_LENGTH} characters long",
        "must contain a lowercase letter",
        "must contain an uppercase letter",
        "must contain a digit",
        "must not start or end with white space",
    ]
