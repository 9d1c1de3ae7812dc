"""Operations of the expression language that could build huge values, each bounded.

The sandboxed environment hands the operators ``*``, ``**``, ``+`` and ``%`` to :func:`binop`,
string concatenation (``~``) to :func:`concat`, every ``{% for %}`` iterable to :func:`iterate`
and the rendered chunks to :func:`join_output`. Each one checks the size its result will have
*before* building it (or, where the result can only be as large as its operands, right after)
and charges the current :class:`~govflow.core.expression_limits.Budget`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from govflow.core.expression_limits import (
    Budget,
    ExpressionLimitError,
    check_items,
    check_string_length,
    checked,
    current_budget,
    integer_too_large,
)

_SEQUENCES = (str, bytes, list, tuple)
_PLAIN = {"-": operator.sub, "/": operator.truediv, "//": operator.floordiv}

_PRINTF = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?"
    r"(?P<type>[diouxXeEfFgGcrsa%])?"
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_sequence_size(sequence: Any, size: int, budget: Budget) -> None:
    if isinstance(sequence, str | bytes):
        check_string_length(size, budget)
    else:
        check_items(size, budget)


def _power(base: Any, exponent: Any, budget: Budget) -> Any:
    # |base| ** exponent has at least (bit_length - 1) * exponent + 1 bits
    big = _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1
    if big and (abs(base).bit_length() - 1) * exponent >= budget.limits.max_integer_bits:
        raise integer_too_large(budget.limits)
    return base**exponent


def _multiply(left: Any, right: Any, budget: Budget) -> Any:
    if isinstance(left, _SEQUENCES) and _is_int(right):
        _check_sequence_size(left, len(left) * max(right, 0), budget)
    elif isinstance(right, _SEQUENCES) and _is_int(left):
        _check_sequence_size(right, len(right) * max(left, 0), budget)
    elif _is_int(left) and _is_int(right):
        bits = left.bit_length() + right.bit_length() - 1  # the product has at least this many
        if bits > budget.limits.max_integer_bits:
            raise integer_too_large(budget.limits)
    return left * right


def _add(left: Any, right: Any, budget: Budget) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_sequence_size(left, len(left) + len(right), budget)
    return left + right


def binop(operator_: str, left: Any, right: Any) -> Any:
    """``left <operator_> right`` for ``*``, ``**``, ``+`` and ``%``, within the limits."""
    budget = current_budget()
    budget.spend()
    if operator_ == "**":
        result = _power(left, right, budget)
    elif operator_ == "*":
        result = _multiply(left, right, budget)
    elif operator_ == "+":
        result = _add(left, right, budget)
    elif operator_ == "%" and isinstance(left, str):
        result = printf(left, right, budget)
    elif operator_ == "%":
        result = left % right
    else:
        result = _PLAIN[operator_](left, right)
    return checked(result, budget)


def printf(template: str, args: Any, budget: Budget) -> str:
    """``template % args`` built one conversion at a time, stopping at the string limit.

    Widths and precisions given as ``*`` are refused; the others count towards the limit
    before anything is formatted. The result is plain text (autoescaping is off).
    """
    template = str(template)
    positional = list(args) if isinstance(args, tuple) else [args]
    pieces: list[str] = []
    total = 0
    used = 0
    mapping_used = False
    last = 0
    for match in _PRINTF.finditer(template):
        literal = template[last : match.start()]
        last = match.end()
        kind = match.group("type")
        if kind is None:
            raise ValueError("incomplete format")
        width, precision = match.group("width"), match.group("precision")
        if width == "*" or precision == "*":
            raise ValueError("'*' widths and precisions are not supported")
        reserved = int(width or 0) + int(precision or 0)
        check_string_length(total + len(literal) + reserved, budget)
        spec = match.group(0)
        key = match.group("key")
        if kind == "%":
            piece = "%"
        elif key is not None:
            if not isinstance(args, Mapping):
                raise TypeError("format requires a mapping")
            mapping_used = True
            piece = ("%" + spec[spec.index(")") + 1 :]) % (args[key],)
        else:
            if used >= len(positional):
                raise TypeError("not enough arguments for format string")
            piece = spec % (positional[used],)
            used += 1
        total += len(literal) + len(piece)
        check_string_length(total, budget)
        budget.spend()
        pieces.extend((literal, piece))
    if not mapping_used and isinstance(args, tuple) and used < len(positional):
        raise TypeError("not all arguments converted during string formatting")
    if not mapping_used and not isinstance(args, tuple) and used == 0 and not _tolerated(args):
        raise TypeError("not all arguments converted during string formatting")
    pieces.append(template[last:])
    text = "".join(pieces)
    check_string_length(len(text), budget)
    return text


def _tolerated(args: Any) -> bool:
    """Python ignores a surplus mapping (or sized non-string) argument of ``%``."""
    return isinstance(args, Mapping) or (
        hasattr(args, "__getitem__") and not isinstance(args, str | tuple)
    )


def concat(*values: Any) -> str:
    """The ``~`` operator: the values as text, joined, within the string limit."""
    budget = current_budget()
    budget.spend()
    texts = [value if isinstance(value, str) else str(value) for value in values]
    size = sum(len(text) for text in texts)
    check_string_length(size, budget)
    budget.produce(size)
    return "".join(texts)


def iterate(iterable: Iterable[Any], cost: int) -> Iterator[Any]:
    """The items of a ``{% for %}`` loop; each one costs ``cost`` operations (the loop body's
    size), so nested loops run out of budget instead of running for hours."""
    budget = current_budget()
    for item in iterable:
        budget.spend(cost)
        yield item


def join_output(chunks: Iterable[str]) -> str:
    """The rendered text of a template (or of a ``{% set %}`` block), within the output limit."""
    budget = current_budget()
    limit = budget.limits.max_output_length
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ExpressionLimitError(f"rendered text longer than {limit:,} characters")
        parts.append(chunk)
        budget.spend()
    budget.produce(total)
    return "".join(parts)
