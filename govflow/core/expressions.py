"""Templating and conditions: Jinja2's immutable sandbox with strict undefined.

- A string holding ``{{ ... }}`` is a template and renders to text.
- A string that is exactly one ``{{ expr }}`` keeps the native type of ``expr`` (a number stays
  a number, a list a list).
- ``if:`` holds a bare expression (``steps.review.output.decision == 'approved'``); its truth
  decides whether the step runs.

Expressions see three names: ``inputs``, ``steps`` (``steps.<id>.output`` and
``steps.<id>.status`` of earlier steps) and ``execution``.

Error tree::

    ExpressionError      a template or condition failed to compile or render
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

ALLOWED_NAMES = frozenset({"inputs", "steps", "execution"})
"""The top-level names an expression may use."""

_SINGLE = re.compile(r"^\{\{(?P<expr>.*)\}\}$", re.DOTALL)
_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class ExpressionError(Exception):
    """A template or condition could not be compiled or rendered."""


@dataclass(frozen=True, slots=True)
class ExpressionInfo:
    """What a template or condition uses, found without running it.

    :ivar errors: syntax errors, as messages (empty when it compiles).
    :ivar names: top-level names it reads (``inputs``, ``steps``, ...).
    :ivar steps: step ids it reads as ``steps.<id>`` or ``steps['<id>']``.
    :ivar inputs: input names it reads as ``inputs.<name>`` or ``inputs['<name>']``.
    """

    errors: list[str] = field(default_factory=list)
    names: frozenset[str] = frozenset()
    steps: frozenset[str] = frozenset()
    inputs: frozenset[str] = frozenset()


def is_template(value: object) -> bool:
    """Whether ``value`` is a string with template syntax in it."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _single_expression(text: str) -> str | None:
    match = _SINGLE.match(text)
    if match is None:
        return None
    expr = match.group("expr")
    if "{{" in expr or "}}" in expr or "{%" in expr:
        return None
    return expr


def _condition_source(condition: str) -> str:
    single = _single_expression(condition.strip())
    return single if single is not None else condition


def _parse_expression(source: str) -> nodes.Expr:
    parser = Parser(_ENV, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(
            f"unexpected {token.value!r} after the expression", token.lineno, None, None
        )
    return expr


def _syntax_message(error: TemplateSyntaxError) -> str:
    return f"invalid expression: {error.message}"


def _attribute_keys(tree: nodes.Node, root: str) -> set[str]:
    keys: set[str] = set()
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == root:
            keys.add(node.attr)
    for item in tree.find_all(nodes.Getitem):
        target, arg = item.node, item.arg
        named = isinstance(target, nodes.Name) and target.name == root
        if named and isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            keys.add(arg.value)
    return keys


def _info(tree: nodes.Template) -> ExpressionInfo:
    tree.set_environment(_ENV)
    try:
        names = find_undeclared_variables(tree)
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    return ExpressionInfo(
        names=frozenset(names),
        steps=frozenset(_attribute_keys(tree, "steps")),
        inputs=frozenset(_attribute_keys(tree, "inputs")),
    )


def inspect_template(text: str) -> ExpressionInfo:
    """Compile-check the template ``text`` and list what it reads."""
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    return _info(tree)


def inspect_condition(condition: str) -> ExpressionInfo:
    """Compile-check the bare expression ``condition`` (an ``if:``) and list what it reads."""
    try:
        expr = _parse_expression(_condition_source(condition))
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    return _info(nodes.Template([nodes.Output([expr])]))


@lru_cache(maxsize=2048)
def _compiled_expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=2048)
def _compiled_template(source: str) -> Any:
    return _ENV.from_string(source)


def _fail(source: str, error: Exception) -> ExpressionError:
    message = error.message if isinstance(error, TemplateError) and error.message else str(error)
    return ExpressionError(f"cannot evaluate {source!r}: {message}")


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    """The native value of the bare ``expression`` in ``context``.

    :raises ExpressionError: it does not compile, reads something undefined or is refused by
        the sandbox.
    """
    try:
        result = _compiled_expression(expression)(**context)
        if isinstance(result, Undefined):
            str(result)  # StrictUndefined raises with the name that is missing
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as error:
        raise _fail(expression.strip(), error) from None
    return result


def render_string(text: str, context: Mapping[str, Any]) -> Any:
    """Render one string: exactly ``{{ expr }}`` keeps its native type, other templates give text.

    :raises ExpressionError: the template fails to compile or render.
    """
    if not is_template(text):
        return text
    single = _single_expression(text)
    if single is not None:
        return evaluate(single, context)
    try:
        return _compiled_template(text).render(**context)
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError) as error:
        raise _fail(text, error) from None


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template inside ``value`` (a ``with:`` block: dicts, lists, strings).

    Mapping keys and non-string leaves are returned unchanged.

    :raises ExpressionError: a template fails; the message names the failing text.
    """
    if isinstance(value, str):
        return render_string(value, context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, context) for item in value]
    return value


def evaluate_condition(condition: str, context: Mapping[str, Any]) -> bool:
    """Whether the ``if:`` expression ``condition`` holds in ``context``.

    :raises ExpressionError: the condition fails to evaluate.
    """
    return bool(evaluate(_condition_source(condition), context))


def build_context(
    inputs: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]] | None = None,
    execution: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context expressions see: ``inputs``, ``steps`` (id -> output/status), ``execution``."""
    return {"inputs": dict(inputs), "steps": dict(steps or {}), "execution": dict(execution or {})}
