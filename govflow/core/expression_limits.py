"""The bounds every template and condition is evaluated under, and the budget that enforces them.

A workflow's expressions are written by a MANAGER and fed by an OPERATOR's inputs, so neither the
text nor the data may be trusted to be small. Three kinds of bounds keep an evaluation finite:

- **size caps** checked *before* an operation that multiplies sizes (``*``, ``**``, ``center``,
  ``replace``, ``join``, ``%`` formatting, ...), so that no single step builds a huge value:
  integers, strings, lists and the rendered output each have a maximum;
- a **budget** of operations (every loop iteration costs the size of the loop's body, every
  filter, operator and call costs one) and of produced size (the characters and items built
  over the whole evaluation), so that nested loops and chains of bounded steps end too;
- a **time limit**, checked at every charge, when the caller gives a clock (the core has none).

Between two charges the work is bounded by the caps and the size of the template, so the budget
is what guarantees that an evaluation running in a thread ends on its own.

Error tree::

    ExpressionError          a template or condition failed to compile or render
    └── ExpressionLimitError it went beyond one of the limits below
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TypeVar

import msgspec

T = TypeVar("T")


class ExpressionError(Exception):
    """A template or condition could not be compiled or rendered."""


class ExpressionLimitError(ExpressionError):
    """A template or condition went beyond a limit of :class:`ExpressionLimits`."""


class ExpressionLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits of one evaluation (one step's ``if:`` or ``with:``, or one validation).

    :ivar max_integer_bits: the largest integer an operation may produce, in bits
        (4096 bits is about 1,233 decimal digits).
    :ivar max_string_length: the longest string an operation or filter may produce.
    :ivar max_items: the longest list an operation or filter may produce.
    :ivar max_output_length: the longest rendered template.
    :ivar max_operations: operations per evaluation: each loop iteration costs the number of
        syntax nodes in the loop's body; each filter, operator, call and output costs one.
    :ivar max_produced: characters and items produced over one evaluation, all values summed.
    :ivar time_limit_seconds: the wall-clock limit of one evaluation.
    :ivar max_value_size: the largest value a single ``{{ expr }}`` may give as data, counted
        as items and characters with a shared part counted every time it appears (the size
        it takes once serialised: ``[[[1]*1000]*1000]*1000`` is small in memory, not on the wire).
    :ivar max_json_indent: the largest ``indent`` of ``tojson``.
    :ivar max_round_digits: the largest precision of ``round``, either sign.
    :ivar inline_source_length: templates longer than this are never evaluated inline.
    """

    max_integer_bits: int = 4096
    max_string_length: int = 1_048_576
    max_items: int = 100_000
    max_output_length: int = 1_048_576
    max_operations: int = 1_000_000
    max_produced: int = 16_777_216
    time_limit_seconds: float = 2.0
    max_value_size: int = 4_194_304
    max_json_indent: int = 16
    max_round_digits: int = 400
    inline_source_length: int = 4096


LIMITS = ExpressionLimits()
"""The limits every workflow expression is evaluated under."""


class Budget:
    """What one evaluation may still spend; raises :class:`ExpressionLimitError` when spent.

    :param limits: the limits to enforce.
    :param clock: a monotonic clock in seconds; with one, the time limit is enforced at every
        charge, without one only the operation and size budgets are.
    """

    __slots__ = ("_clock", "_deadline", "expired", "limits", "operations_left", "produced_left")

    def __init__(
        self, limits: ExpressionLimits = LIMITS, clock: Callable[[], float] | None = None
    ) -> None:
        self.limits = limits
        self.operations_left = limits.max_operations
        self.produced_left = limits.max_produced
        self._clock = clock
        self._deadline = clock() + limits.time_limit_seconds if clock is not None else 0.0
        self.expired = False
        """Whether the time limit (rather than another limit) ended the evaluation."""

    def spend(self, operations: int = 1) -> None:
        """Charge ``operations``; check the time limit."""
        self.operations_left -= operations
        if self.operations_left < 0:
            raise ExpressionLimitError(
                f"the evaluation needs more than {self.limits.max_operations:,} operations "
                "(each loop iteration counts the size of the loop's body)"
            )
        if self._clock is not None and self._clock() > self._deadline:
            self.expired = True
            raise ExpressionLimitError(
                f"the evaluation took longer than {self.limits.time_limit_seconds:g}s"
            )

    def produce(self, size: int) -> None:
        """Charge ``size`` characters or items built."""
        self.produced_left -= size
        if self.produced_left < 0:
            raise ExpressionLimitError(
                f"the evaluation builds more than {self.limits.max_produced:,} characters "
                "and items in all"
            )
        self.spend()


_CURRENT: ContextVar[Budget | None] = ContextVar("govflow_expression_budget", default=None)


def current_budget() -> Budget:
    """The budget of the evaluation running in this context.

    Outside :func:`charged_to` (never the case for GovFlow's own evaluations) each call gets a
    fresh budget: the size caps still hold, the totals do not accumulate.
    """
    budget = _CURRENT.get()
    return budget if budget is not None else Budget()


class charged_to:
    """Evaluate the body's expressions against ``budget``."""

    __slots__ = ("_budget", "_token")
    _token: Token[Budget | None]

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def __enter__(self) -> Budget:
        self._token = _CURRENT.set(self._budget)
        return self._budget

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def integer_too_large(limits: ExpressionLimits) -> ExpressionLimitError:
    return ExpressionLimitError(
        f"integer result larger than {limits.max_integer_bits} bits "
        f"(about {limits.max_integer_bits * 30103 // 100000:,} digits)"
    )


def string_too_long(limits: ExpressionLimits, size: int | None = None) -> ExpressionLimitError:
    found = f" ({size:,})" if size is not None else ""
    return ExpressionLimitError(
        f"string result longer than {limits.max_string_length:,} characters{found}"
    )


def too_many_items(limits: ExpressionLimits, size: int | None = None) -> ExpressionLimitError:
    found = f" ({size:,})" if size is not None else ""
    return ExpressionLimitError(f"list result longer than {limits.max_items:,} items{found}")


def check_string_length(size: int, budget: Budget) -> None:
    """Refuse a string of ``size`` characters before it is built."""
    if size > budget.limits.max_string_length:
        raise string_too_long(budget.limits, size)


def check_items(size: int, budget: Budget) -> None:
    """Refuse a list of ``size`` items before it is built."""
    if size > budget.limits.max_items:
        raise too_many_items(budget.limits, size)


def value_too_large(limits: ExpressionLimits) -> ExpressionLimitError:
    return ExpressionLimitError(
        f"value larger than {limits.max_value_size:,} items and characters once serialised"
    )


def check_value_size(value: object, budget: Budget) -> None:
    """Refuse a data value whose serialised form would be larger than ``max_value_size``.

    Shared parts count every time they appear; the walk stops as soon as the cap is passed, and
    charges one operation per 1,024 parts so that the time limit still applies."""
    cap = budget.limits.max_value_size
    size = 0
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            size += len(item) + 1
        elif isinstance(item, dict):
            size += len(item) + 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            size += len(item) + 1
            pending.extend(item)
        else:
            size += 1
        if size > cap:
            raise value_too_large(budget.limits)
        if size & 1023 == 0:
            budget.spend()


def checked(value: T, budget: Budget) -> T:
    """``value``, built by an operation: refused when over a cap, charged otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value.bit_length() > budget.limits.max_integer_bits:
            raise integer_too_large(budget.limits)
    elif isinstance(value, str | bytes):
        check_string_length(len(value), budget)
        budget.produce(len(value))
    elif isinstance(value, list | tuple | dict | set | frozenset):
        check_items(len(value), budget)
        budget.produce(len(value))
    return value
