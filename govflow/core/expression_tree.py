"""What GovFlow reads from a parsed template before running it.

- :func:`refusals`: the constructs workflow templates may not use (macros, includes, recursive
  loops, ...), found from the syntax tree alone;
- :func:`guard`: the tree rewritten so that every loop iteration is charged and ``~`` is bounded;
- :func:`is_inline`: whether the template is cheap enough to evaluate on the event loop: only
  lookups, comparisons, concatenation, ``if`` and filters linear in their input;
- :func:`constant_limit_error`: evaluates the constant parts (``10**10000000``,
  ``'a' * 10**9``) within the limits, so a template that can only fail is refused when the
  workflow is validated rather than when it runs.
"""

from __future__ import annotations

import contextlib
import operator
from typing import Any

from jinja2 import nodes
from jinja2.visitor import NodeTransformer

from govflow.core.expression_filters import INLINE_FILTERS
from govflow.core.expression_limits import Budget, ExpressionLimitError, charged_to
from govflow.core.expression_ops import binop, concat
from govflow.core.expression_sandbox import CONCAT, ITERATE, BoundedEnvironment

_ALLOWED: frozenset[type[nodes.Node]] = frozenset(
    {
        nodes.Template,
        nodes.Output,
        nodes.TemplateData,
        nodes.If,
        nodes.For,
        nodes.Assign,
        nodes.AssignBlock,
        nodes.With,
        nodes.Scope,
        nodes.FilterBlock,
        nodes.Name,
        nodes.Const,
        nodes.Tuple,
        nodes.List,
        nodes.Dict,
        nodes.Pair,
        nodes.Keyword,
        nodes.CondExpr,
        nodes.Filter,
        nodes.Test,
        nodes.Call,
        nodes.Getitem,
        nodes.Getattr,
        nodes.Slice,
        nodes.Concat,
        nodes.Compare,
        nodes.Operand,
        nodes.Add,
        nodes.Sub,
        nodes.Mul,
        nodes.Div,
        nodes.FloorDiv,
        nodes.Mod,
        nodes.Pow,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.Neg,
        nodes.Pos,
    }
)

_TAGS = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Block: "{% block %}",
    nodes.ScopedEvalContextModifier: "{% autoescape %}",
    nodes.EvalContextModifier: "{% autoescape %}",
    nodes.NSRef: "namespace assignment",
}

_INLINE: frozenset[type[nodes.Node]] = frozenset(
    {
        nodes.Template,
        nodes.Output,
        nodes.TemplateData,
        nodes.If,
        nodes.Name,
        nodes.Const,
        nodes.Tuple,
        nodes.List,
        nodes.Dict,
        nodes.Pair,
        nodes.Keyword,
        nodes.CondExpr,
        nodes.Filter,
        nodes.Test,
        nodes.Getitem,
        nodes.Getattr,
        nodes.Slice,
        nodes.Concat,
        nodes.Compare,
        nodes.Operand,
        nodes.Add,
        nodes.Sub,
        nodes.And,
        nodes.Or,
        nodes.Not,
        nodes.Neg,
        nodes.Pos,
    }
)

_PLAIN_BINOPS = {
    "-": operator.sub,
    "/": operator.truediv,
    "//": operator.floordiv,
}
_UNOPS = {"not": operator.not_, "-": operator.neg, "+": operator.pos}


def refusals(tree: nodes.Template) -> list[str]:
    """Why the template may not be used (empty when it may)."""
    found: list[str] = []
    for node in tree.find_all(nodes.Node):
        kind = type(node)
        if kind not in _ALLOWED:
            what = _TAGS.get(kind, kind.__name__)
            found.append(f"{what} is not available in workflow templates")
        elif isinstance(node, nodes.For) and node.recursive:
            found.append("recursive loops are not available in workflow templates")
    return list(dict.fromkeys(found))


def uses_self(tree: nodes.Node) -> bool:
    """Whether the template reads ``self`` (Jinja's template reference, not a context name)."""
    return any(name.name == "self" for name in tree.find_all(nodes.Name))


def _size(items: list[nodes.Node]) -> int:
    return sum(1 + sum(1 for _ in item.find_all(nodes.Node)) for item in items)


class _Guard(NodeTransformer):
    """Charges loop iterations; bounds ``~``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        cost = 1 + _size(node.body) + (_size([node.test]) if node.test is not None else 0)
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute(ITERATE, lineno=node.lineno),
            [node.iter, nodes.Const(cost, lineno=node.lineno)],
            [],
            None,
            None,
            lineno=node.lineno,
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(
            nodes.EnvironmentAttribute(CONCAT, lineno=node.lineno),
            list(node.nodes),
            [],
            None,
            None,
            lineno=node.lineno,
        )


def guard(tree: nodes.Template, environment: BoundedEnvironment) -> nodes.Template:
    """``tree`` (changed in place) with loops charged and ``~`` bounded, ready to compile."""
    _Guard().visit(tree)
    tree.set_environment(environment)
    return tree


def is_inline(tree: nodes.Node) -> bool:
    """Whether evaluating ``tree`` is linear in the size of its data: no loops, no calls, no
    multiplying operators, and only the filters of ``INLINE_FILTERS``."""
    for node in (tree, *tree.find_all(nodes.Node)):
        if type(node) not in _INLINE:
            return False
        if isinstance(node, nodes.Filter) and node.name not in INLINE_FILTERS:
            return False
    return True


class _NotConstant(Exception):
    """The node's value is only known at run time."""


class _Folder:
    """Evaluates the constant parts of a tree, bottom-up, each node once."""

    def __init__(self, environment: BoundedEnvironment) -> None:
        self.environment = environment
        self.eval_ctx = nodes.EvalContext(environment)

    def walk(self, node: nodes.Node) -> None:
        with contextlib.suppress(_NotConstant):
            self.value(node)

    def _children(self, node: nodes.Node) -> None:
        for child in node.iter_child_nodes():
            self.walk(child)
        raise _NotConstant

    def _values(self, items: list[nodes.Node]) -> list[Any]:
        values: list[Any] = []
        missing = False
        for item in items:
            try:
                values.append(self.value(item))
            except _NotConstant:
                missing = True
        if missing:
            raise _NotConstant
        return values

    def value(self, node: nodes.Node) -> Any:
        if isinstance(node, nodes.Const | nodes.TemplateData):
            return node.value if isinstance(node, nodes.Const) else node.data
        if isinstance(node, nodes.List | nodes.Tuple):
            items = self._values(list(node.items))
            return items if isinstance(node, nodes.List) else tuple(items)
        if isinstance(node, nodes.BinExpr) and node.operator not in ("and", "or"):
            left, right = self._values([node.left, node.right])
            return self._apply(node.operator, left, right)
        if isinstance(node, nodes.UnaryExpr):
            (operand,) = self._values([node.node])
            return self._safely(_UNOPS[node.operator], operand)
        if isinstance(node, nodes.Concat):
            return self._safely(concat, *self._values(list(node.nodes)))
        if isinstance(node, nodes.Filter) and node.node is not None:
            return self._filter(node)
        return self._children(node)

    def _apply(self, operator_: str, left: Any, right: Any) -> Any:
        if operator_ in self.environment.intercepted_binops:
            return self._safely(binop, operator_, left, right)
        return self._safely(_PLAIN_BINOPS[operator_], left, right)

    def _filter(self, node: nodes.Filter) -> Any:
        assert node.node is not None  # a {% filter %} block's filter is never folded
        parts: list[nodes.Node] = [node.node, *node.args, *(k.value for k in node.kwargs)]
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            for part in parts:
                self.walk(part)
            raise _NotConstant
        value, *rest = self._values(parts)
        args = rest[: len(node.args)]
        kwargs = {k.key: v for k, v in zip(node.kwargs, rest[len(node.args) :], strict=True)}
        return self._safely(
            self.environment.call_filter, node.name, value, args, kwargs, None, self.eval_ctx
        )

    @staticmethod
    def _safely(function: Any, *args: Any) -> Any:
        """The result, or :class:`_NotConstant` for any failure but a limit (other errors are
        reported when the expression runs, with the run's data)."""
        try:
            result = function(*args)
        except ExpressionLimitError:
            raise
        except Exception as error:
            raise _NotConstant from error
        if hasattr(result, "__next__"):
            raise _NotConstant  # a lazy filter result: its cost is paid when it is read
        return result


def constant_limit_error(tree: nodes.Node, environment: BoundedEnvironment) -> str | None:
    """The limit a constant part of ``tree`` goes beyond, if any."""
    try:
        with charged_to(Budget()):
            _Folder(environment).walk(tree)
    except ExpressionLimitError as error:
        return str(error)
    return None
