"""What a limit error says: the limit, in the unit the author thinks in, and what was asked.

These messages reach the workflow author (``workflows validate``, the step's error), so the
figures in them are checked against the limits they come from, not against fixed text.
"""

from __future__ import annotations

import pytest

from govflow.core.expression_limits import (
    Budget,
    ExpressionLimitError,
    ExpressionLimits,
    check_items,
    check_string_length,
    integer_too_large,
    string_too_long,
    too_many_items,
)


@pytest.mark.parametrize("bits", [289, 681, 4096])
def test_the_integer_limit_is_also_given_in_decimal_digits(bits: int) -> None:
    digits = len(str(2**bits)) - 1  # the digits of the largest allowed power of two, less one
    message = str(integer_too_large(ExpressionLimits(max_integer_bits=bits)))
    assert message == f"integer result larger than {bits} bits (about {digits:,} digits)"


def test_a_list_too_long_names_the_limit_and_the_length_asked() -> None:
    budget = Budget(ExpressionLimits(max_items=1_000))
    check_items(1_000, budget)
    with pytest.raises(ExpressionLimitError) as refused:
        check_items(250_000, budget)
    assert str(refused.value) == "list result longer than 1,000 items (250,000)"
    assert str(too_many_items(budget.limits)) == "list result longer than 1,000 items"


def test_a_string_too_long_names_the_limit_and_the_length_asked() -> None:
    budget = Budget(ExpressionLimits(max_string_length=2_000))
    check_string_length(2_000, budget)
    with pytest.raises(ExpressionLimitError) as refused:
        check_string_length(2_001, budget)
    assert str(refused.value) == "string result longer than 2,000 characters (2,001)"
    assert str(string_too_long(budget.limits)) == "string result longer than 2,000 characters"
