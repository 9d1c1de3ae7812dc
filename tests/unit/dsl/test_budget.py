"""The evaluation budget on its own: exact bounds, exact messages, the clock, the context."""

from __future__ import annotations

import pytest

from govflow.core.expression_limits import (
    Budget,
    ExpressionLimitError,
    ExpressionLimits,
    charged_to,
    checked,
    current_budget,
)


def test_the_operation_budget_allows_exactly_its_size() -> None:
    budget = Budget(ExpressionLimits(max_operations=5))
    budget.spend(3)
    budget.spend()
    budget.spend()
    assert budget.operations_left == 0
    with pytest.raises(ExpressionLimitError) as refused:
        budget.spend()
    assert str(refused.value) == (
        "the evaluation needs more than 5 operations "
        "(each loop iteration counts the size of the loop's body)"
    )
    assert not budget.expired


def test_the_produced_budget_allows_exactly_its_size_and_each_charge_is_an_operation() -> None:
    budget = Budget(ExpressionLimits(max_produced=1_500, max_operations=10))
    budget.produce(1_000)
    budget.produce(500)
    assert (budget.produced_left, budget.operations_left) == (0, 8)
    with pytest.raises(ExpressionLimitError) as refused:
        budget.produce(1)
    assert str(refused.value) == (
        "the evaluation builds more than 1,500 characters and items in all"
    )


def test_the_time_limit_holds_up_to_the_deadline_itself() -> None:
    now = [100.0]
    budget = Budget(ExpressionLimits(time_limit_seconds=1.5), clock=lambda: now[0])
    now[0] = 101.5
    budget.spend()
    assert not budget.expired
    now[0] = 101.5001
    with pytest.raises(ExpressionLimitError) as refused:
        budget.spend()
    assert str(refused.value) == "the evaluation took longer than 1.5s"
    assert budget.expired


def test_the_deadline_counts_from_when_the_budget_is_made() -> None:
    now = [50.0]
    budget = Budget(ExpressionLimits(time_limit_seconds=2.0), clock=lambda: now[0])
    now[0] = 51.0
    budget.spend()
    now[0] = 52.5
    with pytest.raises(ExpressionLimitError, match="took longer than 2s"):
        budget.spend()


def test_a_budget_is_current_only_inside_its_block() -> None:
    budget = Budget(ExpressionLimits(max_operations=7))
    outside = current_budget()
    assert outside is not budget
    assert outside.operations_left == ExpressionLimits().max_operations
    assert current_budget() is not outside  # outside any block, each call gets a fresh one
    with charged_to(budget) as entered:
        assert entered is budget
        assert current_budget() is budget
        inner = Budget()
        with charged_to(inner):
            assert current_budget() is inner
        assert current_budget() is budget
    assert current_budget() is not budget


def test_checked_charges_what_an_operation_built() -> None:
    budget = Budget(ExpressionLimits(max_operations=100, max_produced=100))
    assert checked("abcd", budget) == "abcd"
    assert checked(b"xy", budget) == b"xy"
    assert checked([1, 2, 3], budget) == [1, 2, 3]
    assert checked({"a": 1}, budget) == {"a": 1}
    assert budget.produced_left == 100 - 4 - 2 - 3 - 1
    assert budget.operations_left == 100 - 4
    assert checked(True, budget) is True
    assert checked(7, budget) == 7
    assert checked(1.5, budget) == 1.5
    assert (budget.produced_left, budget.operations_left) == (90, 96)


def test_checked_refuses_values_over_a_cap() -> None:
    limits = ExpressionLimits(max_integer_bits=8, max_string_length=3, max_items=2)
    budget = Budget(limits)
    assert checked(255, budget) == 255
    assert checked(-255, budget) == -255
    with pytest.raises(ExpressionLimitError, match="integer result larger than 8 bits"):
        checked(256, budget)
    assert checked("abc", budget) == "abc"
    with pytest.raises(ExpressionLimitError, match=r"longer than 3 characters \(4\)"):
        checked("abcd", budget)
    with pytest.raises(ExpressionLimitError, match=r"longer than 2 items \(3\)"):
        checked((1, 2, 3), budget)
    with pytest.raises(ExpressionLimitError, match=r"longer than 2 items \(3\)"):
        checked({1, 2, 3}, budget)


def test_a_mapping_inside_a_list_counts_its_entries_once_plus_one() -> None:
    from govflow.core.expression_limits import check_value_size

    budget = Budget(ExpressionLimits(max_value_size=16))
    # list 2+1, mapping 1+1, "a" 1+1, "b" 1+1, "abcdef" 6+1 -> 16, the cap
    check_value_size(["abcdef", {"a": "b"}], budget)
    with pytest.raises(ExpressionLimitError, match="larger than 16 items"):
        check_value_size(["abcdefg", {"a": "b"}], budget)
