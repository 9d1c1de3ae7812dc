"""Templating and conditions: Jinja2's immutable sandbox with strict undefined, bounded.

- A string holding ``{{ ... }}`` is a template and renders to text.
- A string that is exactly one ``{{ expr }}`` keeps the native type of ``expr`` (a number stays
  a number, a list a list).
- ``if:`` holds a bare expression (``steps.review.output.decision == 'approved'``); its truth
  decides whether the step runs.

Expressions see four names: ``inputs``, ``vars`` (the workflow's variables, computed when the
execution started), ``steps`` (``steps.<id>.output`` and ``steps.<id>.status`` of earlier steps)
and ``execution``; no other globals. The filters, tests
and methods they may use are those of :mod:`~govflow.core.expression_filters`.

Every evaluation runs against a :class:`~govflow.core.expression_limits.Budget` (size caps,
operations, produced size, time when the caller has a clock). :func:`is_inline` tells from the
syntax alone whether a value's templates are cheap enough to evaluate on an event loop; callers
run the others in a thread, where the budget is what makes them end.

Error tree::

    ExpressionError          a template or condition failed to compile or render
    ├── ExpressionLimitError it went beyond a limit (see expression_limits)
    └── VarError             a workflow variable failed (names the variable)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.meta import find_undeclared_variables
from jinja2.parser import Parser

from govflow.core.expression_limits import (
    LIMITS,
    Budget,
    ExpressionError,
    ExpressionLimitError,
    charged_to,
    check_items,
    check_value_size,
    current_budget,
)
from govflow.core.expression_sandbox import BoundedEnvironment, printable
from govflow.core.expression_tree import (
    constant_limit_error,
    guard,
    is_inline,
    refusals,
    uses_self,
)
from govflow.core.secrets import SECRET_FUNCTION, SECRET_NAME_PATTERN, UnknownSecret

__all__ = [
    "ALLOWED_NAMES",
    "Budget",
    "ExpressionError",
    "ExpressionInfo",
    "ExpressionLimitError",
    "VarError",
    "build_context",
    "condition_inline",
    "environment",
    "evaluate",
    "evaluate_condition",
    "evaluate_vars",
    "inspect_condition",
    "inspect_template",
    "is_template",
    "render",
    "render_string",
    "values_inline",
]

ALLOWED_NAMES = frozenset({"inputs", "vars", "steps", "execution"})
"""The top-level names an expression may use."""

_SINGLE = re.compile(r"^\{\{(?P<expr>.*)\}\}$", re.DOTALL)
_ENV = BoundedEnvironment()
_SHOWN = 80
_FAILURES = (
    TemplateError,
    SecurityError,
    ArithmeticError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    RecursionError,
)


@dataclass(frozen=True, slots=True)
class ExpressionInfo:
    """What a template or condition uses, found without running it.

    :ivar errors: syntax errors, refused constructs and limits its constant parts go beyond,
        as messages (empty when it may be used).
    :ivar names: top-level names it reads (``inputs``, ``steps``, ...).
    :ivar steps: step ids it reads as ``steps.<id>`` or ``steps['<id>']``.
    :ivar inputs: input names it reads as ``inputs.<name>`` or ``inputs['<name>']``.
    :ivar vars: variable names it reads as ``vars.<name>`` or ``vars['<name>']``.
    :ivar secrets: secret names it reads as ``secret('<NAME>')``.
    :ivar step_reads: the longest literal lookups under ``steps`` it makes, as key paths:
        ``steps.review.output.form.amount`` is ``('review', 'output', 'form', 'amount')``
        (a method called on a value ends the path before the method's name).
    """

    errors: list[str] = field(default_factory=list)
    names: frozenset[str] = frozenset()
    steps: frozenset[str] = frozenset()
    inputs: frozenset[str] = frozenset()
    vars: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    step_reads: frozenset[tuple[str | int, ...]] = frozenset()


def environment() -> BoundedEnvironment:
    """The environment every workflow expression is compiled in (its globals, filters and tests
    are what ``docs/dsl.md`` lists)."""
    return _ENV


def is_template(value: object) -> bool:
    """Whether ``value`` is a string with template syntax in it."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=4096)
def _single_expression(text: str) -> str | None:
    """The expression of a template that is exactly one ``{{ expr }}`` (``None``: it is not)."""
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


def _syntax_error(error: Exception) -> TemplateSyntaxError:
    if isinstance(error, TemplateSyntaxError):
        return error
    if isinstance(error, RecursionError):
        return TemplateSyntaxError("the expression is nested too deeply", 1)
    return TemplateSyntaxError(str(error) or type(error).__name__, 1)


def _parse_template(text: str) -> nodes.Template:
    """The syntax tree of ``text``; every parse failure is a :class:`TemplateSyntaxError`."""
    try:
        return _ENV.parse(text)
    except (TemplateSyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise _syntax_error(error) from None


def _parse_expression(source: str) -> nodes.Expr:
    try:
        parser = Parser(_ENV, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise TemplateSyntaxError(
                f"unexpected {token.value!r} after the expression", token.lineno, None, None
            )
    except (TemplateSyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise _syntax_error(error) from None
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


def _lookup_key(node: nodes.Node) -> str | int | None:
    """The literal key ``node`` (a ``Getattr`` or ``Getitem``) looks up, or ``None``."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        value = node.arg.value
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return value
    return None


def _key_paths(tree: nodes.Node, root: str) -> set[tuple[str | int, ...]]:
    """The longest literal lookup paths under the name ``root`` (see ``step_reads``)."""
    paths: dict[int, tuple[str | int, ...]] = {}
    inner: set[int] = set()
    # pre-order, reversed: what a lookup looks into comes before it
    for node in reversed(list(tree.find_all((nodes.Getattr, nodes.Getitem)))):
        key = _lookup_key(node)
        if key is None or not isinstance(node, nodes.Getattr | nodes.Getitem):
            continue
        target = node.node
        if isinstance(target, nodes.Name) and target.name == root:
            paths[id(node)] = (key,)
        elif id(target) in paths:
            paths[id(node)] = (*paths[id(target)], key)
            inner.add(id(target))
    for call in tree.find_all(nodes.Call):  # a method: the path ends before its name
        if id(call.node) in paths:
            inner.add(id(call.node))
            if len(paths[id(call.node)]) > 1:
                paths[id(call)] = paths[id(call.node)][:-1]
    return {path for key, path in paths.items() if key not in inner}


def _info(tree: nodes.Template) -> ExpressionInfo:
    tree.set_environment(_ENV)
    refused = refusals(tree)
    if refused:
        return ExpressionInfo(errors=refused)
    try:
        names = set(find_undeclared_variables(tree))
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    except RecursionError:
        return ExpressionInfo(errors=["invalid expression: nested too deeply"])
    if uses_self(tree):
        names.add("self")
    beyond = constant_limit_error(tree, _ENV)
    secrets, misused = _secret_calls(tree)
    return ExpressionInfo(
        errors=([f"expression goes beyond a limit: {beyond}"] if beyond else []) + misused,
        names=frozenset(names),
        steps=frozenset(_attribute_keys(tree, "steps")),
        inputs=frozenset(_attribute_keys(tree, "inputs")),
        vars=frozenset(_attribute_keys(tree, "vars")),
        secrets=frozenset(secrets),
        step_reads=frozenset(_key_paths(tree, "steps")),
    )


_SECRET_NAME = re.compile(SECRET_NAME_PATTERN)


def _secret_calls(tree: nodes.Node) -> tuple[set[str], list[str]]:
    """The secret names ``tree`` reads, and how it misuses ``secret`` (anything but a call with
    one literal name)."""
    names: set[str] = set()
    errors: list[str] = []
    called: set[int] = set()
    for call in tree.find_all(nodes.Call):
        target = call.node
        if not (isinstance(target, nodes.Name) and target.name == SECRET_FUNCTION):
            continue
        called.add(id(target))
        arg = call.args[0] if len(call.args) == 1 else None
        value = arg.value if isinstance(arg, nodes.Const) else None
        if not isinstance(value, str) or call.kwargs or call.dyn_args or call.dyn_kwargs:
            errors.append("secret() takes one literal name: secret('NAME')")
        elif _SECRET_NAME.match(value) is None:
            errors.append(
                "a secret name is an uppercase letter, then uppercase letters, digits and "
                f"underscores, got {value!r}"
            )
        else:
            names.add(value)
    for name in tree.find_all(nodes.Name):
        if name.name == SECRET_FUNCTION and id(name) not in called:
            errors.append("secret is a function: call it with a name, secret('NAME')")
    return names, errors


def _inspect_template(text: str) -> ExpressionInfo:
    try:
        tree = _parse_template(text)
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    return _info(tree)


def _inspect_condition(condition: str) -> ExpressionInfo:
    try:
        expr = _parse_expression(_condition_source(condition))
    except TemplateSyntaxError as error:
        return ExpressionInfo(errors=[_syntax_message(error)])
    return _info(nodes.Template([nodes.Output([expr], lineno=1)], lineno=1))


_inspect_template_cached = lru_cache(maxsize=1024)(_inspect_template)
_inspect_condition_cached = lru_cache(maxsize=1024)(_inspect_condition)


def inspect_template(text: str) -> ExpressionInfo:
    """Check the template ``text`` without running it, and list what it reads.

    Short texts (the usual ones) are remembered; long ones are not, so that uploads cannot
    fill the process's memory with cached copies."""
    if len(text) <= LIMITS.inline_source_length:
        return _inspect_template_cached(text)
    return _inspect_template(text)


def inspect_condition(condition: str) -> ExpressionInfo:
    """Check the bare expression ``condition`` (an ``if:``) and list what it reads."""
    if len(condition) <= LIMITS.inline_source_length:
        return _inspect_condition_cached(condition)
    return _inspect_condition(condition)


def _compile(tree: nodes.Template) -> Template:
    refused = refusals(tree) + (["'self' is not available"] if uses_self(tree) else [])
    if refused:
        raise ExpressionError("; ".join(refused))
    try:
        return _ENV.from_string(guard(tree, _ENV))
    except (ValueError, RecursionError, MemoryError) as error:
        raise _syntax_error(error) from None


@lru_cache(maxsize=2048)
def _compiled_expression(source: str) -> TemplateExpression:
    expr = _parse_expression(source)
    body = [nodes.Assign(nodes.Name("result", "store", lineno=1), expr, lineno=1)]
    return TemplateExpression(_compile(nodes.Template(body, lineno=1)), undefined_to_none=False)


@lru_cache(maxsize=2048)
def _compiled_template(source: str) -> Template:
    return _compile(_parse_template(source))


def _inline_text(text: str, bare: bool) -> bool:
    return len(text) <= LIMITS.inline_source_length and _short_inline_text(text, bare)


@lru_cache(maxsize=4096)
def _short_inline_text(text: str, bare: bool) -> bool:
    single = _condition_source(text) if bare else _single_expression(text)
    try:
        if single is not None:
            return is_inline(_parse_expression(single))
        return is_inline(_parse_template(text))
    except TemplateSyntaxError:
        return True  # fails at once, when compiled


def values_inline(value: Any) -> bool:
    """Whether every template inside ``value`` (a ``with:`` block) is cheap enough to render
    on an event loop (:func:`~govflow.core.expression_tree.is_inline`, and short)."""
    if isinstance(value, str):
        return not is_template(value) or _inline_text(value, False)
    if isinstance(value, Mapping):
        return all(values_inline(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(values_inline(item) for item in value)
    return True


def condition_inline(condition: str) -> bool:
    """Whether the ``if:`` expression ``condition`` is cheap enough to evaluate inline."""
    return _inline_text(condition, True)


def _shown(source: str) -> str:
    return repr(source if len(source) <= _SHOWN else source[:_SHOWN] + "...")


def _fail(source: str, error: Exception) -> ExpressionError:
    if isinstance(error, UnknownSecret):
        return error  # its own message and code: the step fails with UNKNOWN_SECRET
    message = error.message if isinstance(error, TemplateError) and error.message else str(error)
    kind = ExpressionLimitError if isinstance(error, ExpressionLimitError) else ExpressionError
    return kind(f"cannot evaluate {_shown(source)}: {message or type(error).__name__}")


_DATA = frozenset({str, int, float, bool, dict, list, type(None)})


def _native(result: Any) -> Any:
    """A single expression's value as data: iterators read into lists, methods refused."""
    if type(result) in _DATA:
        if isinstance(result, list | dict):
            check_value_size(result, current_budget())
        return result
    if isinstance(result, Undefined) or callable(result):
        printable(result)
    if isinstance(result, Iterator):
        items: list[Any] = []
        budget = current_budget()
        for item in result:
            items.append(item)
            check_items(len(items), budget)
        check_value_size(items, budget)
        return items
    return result


def evaluate(expression: str, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
    """The native value of the bare ``expression`` in ``context``.

    :param budget: what the evaluation may spend (a fresh one, without a time limit, if None).
    :raises ExpressionLimitError: it goes beyond a limit.
    :raises ExpressionError: it does not compile, reads something undefined or is refused by
        the sandbox.
    """
    try:
        with charged_to(budget or Budget()):
            return _native(_compiled_expression(expression)(**context))
    except (ExpressionError, *_FAILURES) as error:
        raise _fail(expression.strip(), error) from None


def render_string(text: str, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
    """Render one string: exactly ``{{ expr }}`` keeps its native type, other templates give text.

    :raises ExpressionError: the template fails to compile or render, or goes beyond a limit.
    """
    if not is_template(text):
        return text
    single = _single_expression(text)
    if single is not None:
        return evaluate(single, context, budget)
    try:
        with charged_to(budget or Budget()):
            return _compiled_template(text).render(**context)
    except (ExpressionError, *_FAILURES) as error:
        raise _fail(text, error) from None


def render(value: Any, context: Mapping[str, Any], budget: Budget | None = None) -> Any:
    """Render every template inside ``value`` (a ``with:`` block: dicts, lists, strings), all
    against one ``budget``.

    Mapping keys and non-string leaves are returned unchanged.

    :raises ExpressionError: a template fails; the message names the failing text.
    """
    budget = budget or Budget()
    if isinstance(value, str):
        return render_string(value, context, budget)
    if isinstance(value, Mapping):
        return {key: render(item, context, budget) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [render(item, context, budget) for item in value]
    return value


def evaluate_condition(
    condition: str, context: Mapping[str, Any], budget: Budget | None = None
) -> bool:
    """Whether the ``if:`` expression ``condition`` holds in ``context``.

    :raises ExpressionError: the condition fails to evaluate.
    """
    return bool(evaluate(_condition_source(condition), context, budget))


def build_context(
    inputs: Mapping[str, Any],
    steps: Mapping[str, Mapping[str, Any]] | None = None,
    execution: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context expressions see: ``inputs``, ``vars``, ``steps`` (id -> output/status) and
    ``execution``."""
    return {
        "inputs": dict(inputs),
        "vars": dict(variables or {}),
        "steps": dict(steps or {}),
        "execution": dict(execution or {}),
    }


def evaluate_vars(
    templates: Mapping[str, Any], inputs: Mapping[str, Any], budget: Budget | None = None
) -> dict[str, Any]:
    """A workflow's ``vars:`` evaluated against the execution's ``inputs`` (all against one
    ``budget``), in the order written.

    :raises VarError: a variable's template fails or goes beyond a limit; it names the variable.
    """
    budget = budget or Budget()
    context = {"inputs": dict(inputs)}
    values: dict[str, Any] = {}
    for name, template in templates.items():
        try:
            values[name] = render(template, context, budget)
        except ExpressionError as error:
            raise VarError(name, str(error)) from None
    return values


class VarError(ExpressionError):
    """A workflow variable could not be evaluated when its execution started."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
