"""What expressions may use is exactly what ``docs/dsl.md`` lists: no globals, the listed
filters, tests and methods, and nothing that prints a memory address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from govflow.core.expression_filters import (
    LOOP_METHODS,
    MAPPING_METHODS,
    SEQUENCE_METHODS,
    STRING_METHODS,
)
from govflow.core.expressions import (
    ExpressionError,
    build_context,
    environment,
    inspect_template,
    render,
)

DOC = (Path(__file__).resolve().parents[3] / "docs" / "dsl.md").read_text()
CTX = build_context(
    {"name": "ada", "items": [3, 1, 2], "info": {"a": 1}, "keys": "the input"}, {}, {"id": "e1"}
)


def documented(label: str) -> set[str]:
    """The backticked names of the paragraph that starts with ``**<label>:**``."""
    match = re.search(rf"^\*\*{re.escape(label)}:\*\*(.*?)(?:\n\n|\Z)", DOC, re.M | re.S)
    assert match is not None, f"docs/dsl.md has no '**{label}:**' list"
    return {name.removeprefix("loop.") for name in re.findall(r"`([^`]+)`", match.group(1))}


def test_there_are_no_globals() -> None:
    assert environment().globals == {}


def test_filters_are_exactly_the_documented_ones() -> None:
    assert set(environment().filters) == documented("Filters")


def test_tests_are_exactly_the_documented_ones() -> None:
    assert set(environment().tests) == documented("Tests")


@pytest.mark.parametrize(
    ("label", "methods"),
    [
        ("String methods", STRING_METHODS),
        ("Mapping methods", MAPPING_METHODS),
        ("List methods", SEQUENCE_METHODS),
        ("Loop methods", LOOP_METHODS),
    ],
)
def test_methods_are_exactly_the_documented_ones(label: str, methods: frozenset[str]) -> None:
    assert set(methods) == documented(label)


@pytest.mark.parametrize(
    "name", ["lipsum", "cycler", "range", "joiner", "namespace", "dict", "self"]
)
def test_jinja_globals_are_unknown_names(name: str) -> None:
    assert name in inspect_template(f"{{{{ {name} }}}}").names
    with pytest.raises(ExpressionError, match=name):
        render(f"{{{{ {name} }}}}", CTX)
    with pytest.raises(ExpressionError, match=name):
        render(f"x {{{{ {name} }}}}", CTX)


@pytest.mark.parametrize(
    "name", ["forceescape", "pprint", "random", "safe", "striptags", "urlize", "xmlattr"]
)
def test_left_out_filters_are_unknown(name: str) -> None:
    [error] = inspect_template(f"{{{{ inputs.name | {name} }}}}").errors
    assert f"No filter named '{name}'" in error


@pytest.mark.parametrize(
    "method",
    ["center(9)", "ljust(9)", "rjust(9)", "zfill(9)", "expandtabs(9)", "format(1)",
     "format_map({})", "join(['a'])", "replace('a', 'b')", "translate({})", "encode()"],
)  # fmt: skip
def test_string_methods_that_multiply_are_refused(method: str) -> None:
    with pytest.raises(ExpressionError, match="unsafe"):
        render(f"{{{{ inputs.name.{method} }}}}", CTX)


def test_documented_methods_work() -> None:
    assert render("{{ inputs.name.upper() }}", CTX) == "ADA"
    assert render("{{ inputs.name.split('d') }}", CTX) == ["a", "a"]
    assert render("{{ inputs.info.get('a') }}", CTX) == 1
    assert render("{{ inputs.info.keys() | list }}", CTX) == ["a"]
    assert render("{{ inputs['items'].index(1) }}", CTX) == 1
    assert render("{% for i in inputs['items'] %}{{ loop.cycle('x', 'y') }}{% endfor %}", CTX) == (
        "xyx"
    )


def test_a_mapping_key_wins_over_a_method_of_the_same_name() -> None:
    assert render("{{ inputs.keys }}", CTX) == "the input"
    assert render("{{ inputs.items }}", CTX) == [3, 1, 2]


@pytest.mark.parametrize(
    "text", ["{{ inputs.name.upper }}", "x {{ inputs.name.upper }}", "{{ inputs.info.get }}"]
)
def test_a_method_is_never_printed_as_an_address(text: str) -> None:
    with pytest.raises(ExpressionError, match="a method cannot be used as a value") as raised:
        render(text, CTX)
    assert "0x" not in str(raised.value)


def test_filters_keep_jinja_semantics() -> None:
    assert render("{{ inputs['items'] | sort | join(',') }}", CTX) == "1,2,3"
    assert render("{{ inputs['items'] | map('string') | list }}", CTX) == ["3", "1", "2"]
    assert render("{{ inputs['items'] | sum }}", CTX) == 6
    assert render("{{ 'a b c' | replace(' ', '-') }}", CTX) == "a-b-c"
    assert render("{{ '%s=%d' | format('n', 3) }}", CTX) == "n=3"
    assert render("{{ '%(k)s' % {'k': 'v'} }}", CTX) == "v"
    assert render("{{ 'x' | center(5) }}", CTX) == "  x  "
    assert render("{{ 'a\nb' | indent(2) }}", CTX) == "a\n  b"
    assert render("{{ 'aaa bbb' | wordwrap(3) }}", CTX) == "aaa\nbbb"
    assert render("{{ [1, 2, 3] | batch(2) | list }}", CTX) == [[1, 2], [3]]
    assert render("{{ [1, 2, 3] | slice(2) | list }}", CTX) == [[1, 2], [3]]
    assert render("{{ 2.567 | round(2) }}", CTX) == 2.57
    assert render("{{ inputs.info | tojson }}", CTX) == '{"a": 1}'
    assert render("{{ inputs['items'] | map('string') }}", CTX) == ["3", "1", "2"]
