"""Templates, native values, conditions and static inspection."""

from __future__ import annotations

import pytest

from govflow.core.expressions import (
    ExpressionError,
    build_context,
    evaluate_condition,
    inspect_condition,
    inspect_template,
    is_template,
    render,
)

CTX = build_context(
    {"n": 3, "key": "PERMIT-1", "tags": ["a", "b"]},
    {"review": {"output": {"decision": "approved"}, "status": "SUCCEEDED"}},
    {"id": "e1"},
)


def test_single_expression_keeps_native_type() -> None:
    assert render("{{ inputs.n }}", CTX) == 3
    assert render("{{ inputs.tags }}", CTX) == ["a", "b"]
    assert render("{{ inputs.n + 1 }}", CTX) == 4


def test_mixed_template_renders_text() -> None:
    assert render("n={{ inputs.n }}", CTX) == "n=3"
    assert render("{{ inputs.n }}{{ inputs.n }}", CTX) == "33"


def test_nested_structure() -> None:
    value = {"a": ["{{ inputs.key }}", 5, None], "b": {"c": "x {{ execution.id }}"}, "d": True}
    assert render(value, CTX) == {"a": ["PERMIT-1", 5, None], "b": {"c": "x e1"}, "d": True}


def test_plain_strings_untouched() -> None:
    assert render("no template", CTX) == "no template"
    assert not is_template("plain")
    assert is_template("{% if x %}y{% endif %}")


@pytest.mark.parametrize(
    "text",
    ["{{ inputs.missing }}", "a {{ inputs.missing }}", "{{ steps.nope.output }}", "{{ 1 / 0 }}"],
)
def test_render_errors(text: str) -> None:
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        render(text, CTX)


def test_sandbox_refuses_internals() -> None:
    with pytest.raises(ExpressionError, match="unsafe"):
        render("{{ inputs.__class__.__mro__ }}", CTX)
    with pytest.raises(ExpressionError):
        render("{{ inputs.tags.append('x') }}", CTX)


def test_conditions() -> None:
    assert evaluate_condition("steps.review.output.decision == 'approved'", CTX)
    assert not evaluate_condition("inputs.n > 5", CTX)
    assert evaluate_condition("{{ inputs.n == 3 }}", CTX)
    with pytest.raises(ExpressionError):
        evaluate_condition("inputs.nope", CTX)


def test_inspect_template() -> None:
    info = inspect_template("{{ steps.a.output }} {{ steps['b'].status }} {{ inputs.k }} {{ x }}")
    assert info.errors == []
    assert info.steps == {"a", "b"}
    assert info.inputs == {"k"}
    assert info.names == {"steps", "inputs", "x"}


def test_inspect_ignores_local_names() -> None:
    info = inspect_template("{% for t in inputs.tags %}{{ t }}{% endfor %}")
    assert info.names == {"inputs"}


def test_inspect_errors() -> None:
    assert inspect_template("{{ a ").errors
    assert inspect_template("{{ a | nofilter }}").errors
    assert inspect_condition("a ==").errors
    assert inspect_condition("a }} {{ b").errors
    assert inspect_condition("steps.a.status == 'x'").steps == {"a"}
