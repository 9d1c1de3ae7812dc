"""The Jinja environment workflow expressions run in: the immutable sandbox, bounded.

On top of Jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`:

- nothing is computed while a template compiles: the optimizer is off (``optimized=False``) and
  the output finalizer needs the evaluation context, so Jinja cannot fold constant output either
  (``{{ 10**10000000 }}`` used to be computed by the compiler);
- ``*``, ``**``, ``+`` and ``%`` go through :func:`~govflow.core.expression_ops.binop`;
- no globals (``range``, ``lipsum``, ``dict``, ``cycler``, ``joiner``, ``namespace``): the only
  names are the ``inputs``, ``steps`` and ``execution`` of the context;
- the filters and tests of :mod:`~govflow.core.expression_filters`, and only the methods it
  lists (``str.format`` and ``str.center`` are refused like private attributes);
- ``a.b`` on a mapping reads the key ``b`` first, then the method;
- every call costs one operation and its result is checked against the caps;
- the rendered text is joined by :func:`~govflow.core.expression_ops.join_output`.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context

from govflow.core.expression_filters import FILTERS, TESTS, allowed_methods
from govflow.core.expression_limits import ExpressionError, checked, current_budget
from govflow.core.expression_ops import binop, concat, iterate, join_output

ITERATE = "govflow_iterate"
"""The environment attribute every ``{% for %}`` iterable is passed through."""

CONCAT = "govflow_concat"
"""The environment attribute ``~`` is compiled to."""


def printable(value: Any) -> str:
    """``value`` as output text: callables are refused (they would print a memory address).

    A string is output as it is (no copy); any other value's text is new, and charged."""
    if type(value) is str:
        return value
    if isinstance(value, Undefined):
        return str(value)  # StrictUndefined raises, naming what is missing
    if callable(value):
        raise ExpressionError("a method cannot be used as a value; call it")
    return checked(str(value), current_budget())


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: Any) -> str:
    """Needs the evaluation context, so that Jinja never finalizes output while compiling."""
    return value if type(value) is str else printable(value)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with GovFlow's limits (see the module documentation)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    concat = staticmethod(join_output)  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined, autoescape=False, optimized=False, finalize=_finalize
        )
        self.globals.clear()
        self.filters = dict(FILTERS)
        self.tests = dict(TESTS)
        setattr(self, ITERATE, iterate)
        setattr(self, CONCAT, concat)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return binop(operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not callable(value) or attr in allowed_methods(obj)

    def wrap_str_format(self, value: Any) -> None:
        """``str.format`` is not exposed at all (widths like ``{:>999999999}`` are unbounded)."""
        return

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.spend()
        return checked(super().call(__context, __obj, *args, **kwargs), budget)
