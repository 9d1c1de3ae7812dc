"""Every expression limit: refused before the value is built, at validation when the template is
constant, at run time with the data otherwise; and which templates are cheap enough to inline."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from govflow.core.expression_limits import LIMITS, Budget, ExpressionLimits
from govflow.core.expressions import (
    ExpressionError,
    ExpressionLimitError,
    build_context,
    condition_inline,
    evaluate_condition,
    inspect_condition,
    inspect_template,
    render,
    values_inline,
)
from govflow.core.spec_errors import SpecError
from govflow.core.validation import validate_workflow

from .actions import DOC_ACTIONS

HALF = "a" * (LIMITS.max_string_length // 2 + 1)
CTX = build_context(
    {
        "half": HALF,
        "lines": "x\n" * 200_000,
        "big": 2**3000,
        "digits": "9" * 1300,
        "many": list(range(60_000)),
        "two_thousand": list(range(2_000)),
        "twenty": list(range(20)),
        "forty": list(range(40)),
        "hundred_k": "b" * 100_000,
        "n": 10**9,
    },
    {},
    {"id": "e1"},
)

INTEGER = "integer result larger than 4096 bits"
STRING = "string result longer than 1,048,576 characters"
ITEMS = "list result longer than 100,000 items"
OUTPUT = "rendered text longer than 1,048,576 characters"
OPERATIONS = "the evaluation needs more than 1,000,000 operations"
PRODUCED = "the evaluation builds more than 16,777,216 characters and items in all"

RUN_TIME = [
    ("{{ 10**10000000 }}", INTEGER),
    ("{{ 2**4097 }}", INTEGER),
    ("{{ 3**3000 }}", INTEGER),
    ("{{ inputs.big * inputs.big }}", INTEGER),
    ("{{ inputs.big ** 2 }}", INTEGER),
    ("{{ inputs.digits | int }}", INTEGER),
    ("{{ [inputs.big, inputs.big] | sum * inputs.big }}", INTEGER),
    ("{{ 'a' * 10**9 }}", STRING),
    ("{{ 10**9 * 'a' }}", STRING),
    ("{{ 'a' * inputs.n }}", STRING),
    ("{{ inputs.half + inputs.half }}", STRING),
    ("{{ inputs.half ~ inputs.half }}", STRING),
    ("x{{ inputs.half ~ inputs.half }}", STRING),
    ("{{ 'x' | center(inputs.n) }}", STRING),
    ("{{ inputs.lines | indent(10) }}", STRING),
    ("{{ inputs.half | replace('a', 'aa') }}", STRING),
    ("{{ inputs.forty | join(inputs.hundred_k) }}", STRING),
    ("{{ '%s%s' % (inputs.half, inputs.half) }}", STRING),
    ("{{ '%2000000d' % 1 }}", STRING),
    ("{{ '%.2000000f' % 1.5 }}", STRING),
    ("{{ '%s%s' | format(inputs.half, inputs.half) }}", STRING),
    ("{{ inputs.half | wordwrap(1) }}", OPERATIONS),
    ("{{ inputs.half | wordwrap(3) }}", OPERATIONS),
    ("{{ inputs.hundred_k | wordwrap(5000, wrapstring=inputs.hundred_k) }}", STRING),
    ("{{ [inputs.half, inputs.half] | sum(start='') }}", STRING),
    ("{{ [0] * 200000 }}", ITEMS),
    ("{{ inputs.many + inputs.many }}", ITEMS),
    ("{{ inputs.half | list }}", ITEMS),
    ("{{ [1] | batch(200000, 0) | list }}", ITEMS),
    ("{{ inputs.many | slice(200000) | list }}", ITEMS),
    ("{{ [inputs.many, inputs.many] | sum(start=[]) }}", ITEMS),
    ("{{ inputs.hundred_k.split('') }}", "empty separator"),
    ("{{ inputs.half.split('a') }}", ITEMS),
    ("{% for i in inputs.twenty %}{{ inputs.hundred_k }}{% endfor %}", OUTPUT),
    ("{% for i in inputs.twenty %}{{ inputs.hundred_k }}-{% endfor %}", OUTPUT),
    (
        "{% set b %}{% for i in inputs.twenty %}{{ inputs.hundred_k }}{% endfor %}{% endset %}",
        OUTPUT,
    ),
    (
        "{% for a in inputs.two_thousand %}{% for b in inputs.two_thousand %}{{ a }}"
        "{% endfor %}{% endfor %}",
        OPERATIONS,
    ),
    (
        "{% for i in inputs.forty %}{% set x = inputs.half ~ i %}{% endfor %}",
        PRODUCED,
    ),
    ("{{ 1.5 | round(-100000) }}", "round precision beyond ±400"),
    ("{{ inputs | tojson(1000) }}", "tojson indent larger than 16"),
    ("{{ inputs | tojson('                  ') }}", "tojson indent larger than 16"),
]


@pytest.mark.parametrize(("text", "message"), RUN_TIME, ids=[t[:40] for t, _ in RUN_TIME])
def test_each_limit_is_enforced_at_run_time(text: str, message: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match=message):
        render(text, CTX)
    assert time.perf_counter() - started < LIMITS.time_limit_seconds


def test_long_chains_within_the_limits_work() -> None:
    text = "{{ inputs.many | map('string') | map('string') | join(',') | length }}"
    assert render(text, CTX) == len(",".join(map(str, range(60_000))))


def test_the_largest_allowed_values_pass() -> None:
    assert render("{{ 2**4095 }}", CTX) == 2**4095
    limit = LIMITS.max_string_length
    assert len(render(f"{{{{ 'a' * {limit} }}}}", CTX)) == limit
    assert len(render(f"{{{{ [0] * {LIMITS.max_items} }}}}", CTX)) == LIMITS.max_items
    assert len(render("{{ inputs.half ~ inputs.half[2:] }}", CTX)) == limit


def test_limit_errors_are_expression_limit_errors_naming_the_text() -> None:
    with pytest.raises(ExpressionLimitError, match=r"cannot evaluate \"'a' \* 10\*\*9\""):
        render("{{ 'a' * 10**9 }}", CTX)


def test_a_long_failing_text_is_shortened_in_the_message() -> None:
    text = "{{ 'a' * 10**9 }}" + "x" * 10_000
    with pytest.raises(ExpressionLimitError) as raised:
        render(text, CTX)
    assert len(str(raised.value)) < 300


def test_conditions_have_the_same_limits() -> None:
    with pytest.raises(ExpressionLimitError, match=STRING):
        evaluate_condition("('a' * 10**9) == 'a'", CTX)
    assert inspect_condition("10**10000000 > 1").errors == [
        f"expression goes beyond a limit: {INTEGER} (about 1,233 digits)"
    ]


def test_one_budget_covers_every_template_of_a_with_block() -> None:
    loop = "{% for a in inputs.twenty %}{% for b in inputs.twenty %}.{% endfor %}{% endfor %}"
    assert len(render(loop, CTX)) == 400
    budget = Budget(ExpressionLimits(max_operations=3_000))
    with pytest.raises(ExpressionLimitError, match="more than 3,000 operations"):
        render({"a": loop, "b": [loop, loop]}, CTX, budget)


def test_the_time_limit_is_checked_at_every_charge() -> None:
    ticks = itertools.count(step=0.5)
    budget = Budget(ExpressionLimits(time_limit_seconds=2.0), clock=lambda: next(ticks))
    loop = "{% for a in inputs.twenty %}{{ a }}{% endfor %}"
    with pytest.raises(ExpressionLimitError, match="took longer than 2s"):
        render(loop, CTX, budget)


def test_without_a_clock_there_is_no_time_limit() -> None:
    budget = Budget(ExpressionLimits(time_limit_seconds=0.0))
    assert render("{% for a in inputs.twenty %}{{ a }}{% endfor %}", CTX, budget) == "".join(
        map(str, range(20))
    )


CONSTANT = [
    ("{{ 10**10000000 }}", INTEGER),
    ("{{ 10**50000000 }}", INTEGER),
    ("{{ 'a' * 10**9 }}", STRING),
    ("{{ ('ab' ~ 'cd') * 10**9 }}", STRING),
    ("{{ 'x' | center(10**9) }}", STRING),
    ("{{ '%999999999d' % 1 }}", STRING),
    ("{{ [0] * 10**6 }}", ITEMS),
    ("{{ -(10**5000) }}", INTEGER),
    ("x {% if inputs.a %}{{ 'a' * 10**9 }}{% endif %}", STRING),
    ("{{ inputs.a ~ ('a' * 10**9) }}", STRING),
    ("{{ inputs.a[10**10000] }}", INTEGER),
    ("{% for i in [1] %}{{ i ~ 'x' | center(10**9) }}{% endfor %}", STRING),
]


@pytest.mark.parametrize(("text", "message"), CONSTANT, ids=[t[:40] for t, _ in CONSTANT])
def test_constant_parts_beyond_a_limit_are_refused_when_validated(text: str, message: str) -> None:
    started = time.perf_counter()
    [error] = inspect_template(text).errors
    assert error.startswith(f"expression goes beyond a limit: {message}")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "text",
    ["{{ 1 / 0 }}", "{{ 'a' * 3 }}", "{{ 2**4095 }}", "{{ inputs.a * 10**9 }}", "{{ [1] | x }}"],
)
def test_other_constant_failures_are_left_to_run_time(text: str) -> None:
    errors = inspect_template(text).errors
    assert not any("goes beyond a limit" in error for error in errors)


def test_validation_reports_the_template_position() -> None:
    text = """name: hostile
title: Hostile
department: general
steps:
  - id: say
    action: notification
    with:
      channel: log
      message: "{{ 10**10000000 }}"
"""
    started = time.perf_counter()
    with pytest.raises(SpecError) as raised:
        validate_workflow(text, "hostile.yaml", DOC_ACTIONS)
    assert time.perf_counter() - started < 0.5
    [problem] = raised.value.problems
    assert (problem.path, problem.line, problem.col) == ("steps[0].with.message", 9, 16)
    assert problem.message.startswith(f"expression goes beyond a limit: {INTEGER}")


REFUSED = [
    ("{% macro m() %}x{% endmacro %}{{ m() }}", "{% macro %} is not available"),
    ("{% call x() %}y{% endcall %}", "{% call %} is not available"),
    ("{% include 'x.txt' %}", "{% include %} is not available"),
    ("{% import 'x.txt' as x %}", "{% import %} is not available"),
    ("{% from 'x.txt' import y %}", "{% from ... import %} is not available"),
    ("{% extends 'x.txt' %}", "{% extends %} is not available"),
    ("{% block b %}x{% endblock %}", "{% block %} is not available"),
    ("{% autoescape true %}x{% endautoescape %}", "{% autoescape %} is not available"),
    ("{% for x in inputs.l recursive %}{{ loop(x) }}{% endfor %}", "recursive loops"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_constructs_outside_the_dsl_are_refused(text: str, message: str) -> None:
    assert any(message in error for error in inspect_template(text).errors)
    with pytest.raises(ExpressionError, match=message):
        render(text, CTX)


def test_self_is_an_unknown_name_and_never_renders() -> None:
    assert "self" in inspect_template("{{ self }}").names
    with pytest.raises(ExpressionError, match="'self' is not available"):
        render("{{ self }}", CTX)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    text = "{{ " + "(" * 400 + "1" + ")" * 400 + " }}"
    [error] = inspect_template(text).errors
    assert "nested too deeply" in error
    with pytest.raises(ExpressionError, match="nested too deeply"):
        render(text, CTX)


def test_an_integer_literal_too_long_for_python_is_a_syntax_error() -> None:
    [error] = inspect_template("{{ " + "9" * 5000 + " }}").errors
    assert error.startswith("invalid expression")


INLINE: list[tuple[Any, bool]] = [
    ("plain text", True),
    ("{{ inputs.who }}", True),
    ("Hello {{ inputs.who | upper }} from {{ steps.a.output['x'] }}", True),
    ("{{ inputs.a ~ inputs.b if inputs.c else inputs.d | default('') }}", True),
    ("{{ inputs.n + 1 }}", True),
    ("{% if inputs.a == 1 %}yes{% endif %}", True),
    ({"a": ["{{ inputs.x }}", 1, None], "b": {"c": "{{ inputs.y | length }}"}}, True),
    ("{{ inputs.n * 2 }}", False),
    ("{{ 2 ** inputs.n }}", False),
    ("{{ '%s' % inputs.n }}", False),
    ("{{ inputs.who.upper() }}", False),
    ("{{ inputs.l | join(',') }}", False),
    ("{{ inputs.l | map('upper') | list }}", False),
    ("{% for x in inputs.l %}{{ x }}{% endfor %}", False),
    ("{% set x = inputs.a %}{{ x }}", False),
    ("{{ inputs.a }}" + " " * LIMITS.inline_source_length, False),
    ({"ok": "{{ inputs.a }}", "loop": ["{% for x in inputs.l %}{% endfor %}"]}, False),
]


@pytest.mark.parametrize(("value", "inline"), INLINE, ids=[str(v)[:40] for v, _ in INLINE])
def test_only_cheap_templates_are_evaluated_inline(value: Any, inline: bool) -> None:
    assert values_inline(value) is inline


def test_conditions_are_classified_the_same_way() -> None:
    assert condition_inline("steps.a.status == 'COMPLETED' and inputs.n > 3")
    assert condition_inline("{{ inputs.n > 3 }}")
    assert not condition_inline("inputs.n * 3 > 3")
    assert not condition_inline("inputs.l | select('odd') | list")


def test_shared_parts_count_every_time_they_appear_in_a_value() -> None:
    # small in memory (three lists), a billion items once serialised for the step's parameters
    with pytest.raises(ExpressionLimitError, match="once serialised"):
        render({"m": "{{ [[[1] * 1000] * 1000] * 1000 }}"}, CTX)
    assert len(render({"m": "{{ [[1] * 1000] * 1000 }}"}, CTX)["m"]) == 1000


def test_the_serialised_size_counts_items_characters_keys_and_containers() -> None:
    from govflow.core.expression_limits import check_value_size

    budget = Budget(ExpressionLimits(max_value_size=10))
    check_value_size(["abc", 1], budget)  # list 2+1, "abc" 3+1, 1 -> 8
    check_value_size({"ab": "cd"}, budget)  # dict 1+1, "ab" 2+1, "cd" 2+1 -> 8
    check_value_size(("abcdefg",), budget)  # tuple 1+1, "abcdefg" 7+1 -> 10, the cap
    with pytest.raises(ExpressionLimitError, match="larger than 10 items"):
        check_value_size(["abcdefgh"], budget)  # 1+1 + 8+1 -> 11
    with pytest.raises(ExpressionLimitError):
        check_value_size([None] * 9, budget)  # 9+1 + 9 -> 19
    check_value_size([None] * 4, budget)  # 4+1 + 4 -> 9


def test_walking_a_large_value_charges_the_budget() -> None:
    from govflow.core.expression_limits import check_value_size

    budget = Budget(ExpressionLimits(max_operations=10))
    with pytest.raises(ExpressionLimitError, match="operations"):
        check_value_size([[0] * 1023] * 20, budget)
