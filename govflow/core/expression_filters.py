"""What expressions may call: the filters, tests and methods that ``docs/dsl.md`` lists.

Every filter runs through :func:`_bounded`: it costs one operation, and what it returns is
checked against the size caps and charged (an iterator is charged item by item as it is read).
Filters whose output size depends on an argument (``center``, ``indent``, ``join``, ``replace``,
``format``, ``wordwrap``, ``batch``, ``slice``, ``sum``, ``round``, ``tojson``, ``list``) are
replaced by versions that check the size first. Jinja's ``forceescape``, ``pprint``, ``random``,
``safe``, ``striptags`` (quadratic on ``<`` and ``>``), ``urlize`` and ``xmlattr`` are left out:
they are about HTML, randomness or debugging, not about workflow data.
"""

from __future__ import annotations

import functools
import itertools
import textwrap
from collections.abc import Callable, Iterator
from typing import Any, cast

from jinja2 import filters as jinja_filters
from jinja2 import tests as jinja_tests
from jinja2.exceptions import FilterArgumentError
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext
from jinja2.utils import pass_environment, pass_eval_context

from govflow.core.expression_limits import (
    ExpressionLimitError,
    check_items,
    check_string_length,
    checked,
    current_budget,
)
from govflow.core.expression_ops import binop, iterate, printf

_Filter = Callable[..., Any]


def _bounded(function: _Filter) -> _Filter:
    """``function`` charged and checked (it keeps Jinja's ``pass_*`` marker)."""

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.spend()
        result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return iterate(result, 1)
        return checked(result, budget)

    return bounded


def _center(value: Any, width: int = 80) -> str:
    if isinstance(width, int):
        check_string_length(width, current_budget())
    return str(value).center(width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    budget = current_budget()
    if not isinstance(width, str):
        check_string_length(int(width), budget)
    indention = width if isinstance(width, str) else " " * int(width)
    lines = s.count("\n") + s.count("\r") + 2
    check_string_length(len(s) + lines * len(indention), budget)
    return str(jinja_filters.do_indent(s, width, first, blank))


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Any, d: str = "", attribute: Any = None) -> str:
    budget = current_budget()
    if attribute is not None:
        value = map(jinja_filters.make_attrgetter(eval_ctx.environment, attribute), value)
    separator = str(d)
    parts: list[str] = []
    total = 0
    for item in value:
        text = item if isinstance(item, str) else str(item)
        total += len(text) + (len(separator) if parts else 0)
        check_string_length(total, budget)
        budget.spend()
        parts.append(text)
    return separator.join(parts)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        found = min(found, count)
    check_string_length(len(text) + found * max(len(new) - len(old), 0), current_budget())
    return str(jinja_filters.do_replace(eval_ctx, s, old, new, count))


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    if args and kwargs:
        raise FilterArgumentError("can't handle positional and keyword arguments at the same time")
    return printf(str(value), kwargs or args, current_budget())


@pass_environment
def _wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    budget = current_budget()
    separator = environment.newline_sequence if wrapstring is None else str(wrapstring)
    lines: list[str] = []
    for paragraph in str(s).splitlines():
        # textwrap's time grows with the lines it makes (and the chunks of long words): charge
        # them before the paragraph is wrapped
        budget.spend(1 + 8 * (len(paragraph) // max(int(width), 1)) + len(paragraph) // 16)
        lines.extend(
            textwrap.wrap(
                paragraph,
                width=width,
                expand_tabs=False,
                replace_whitespace=False,
                break_long_words=break_long_words,
                break_on_hyphens=break_on_hyphens,
            )
            or [""]
        )
    size = sum(len(line) for line in lines) + max(len(lines) - 1, 0) * len(separator)
    check_string_length(size, budget)
    return separator.join(lines)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    check_items(int(linecount), current_budget())
    return jinja_filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    budget = current_budget()
    check_items(int(slices), budget)
    budget.spend(int(slices))
    return jinja_filters.sync_do_slice(value, slices, fill_with)


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(environment, attribute), iterable)
    total = start
    for item in iterable:
        total = binop("+", total, item)
    return total


def _round(value: float, precision: int = 0, method: str = "common") -> float:
    limit = current_budget().limits.max_round_digits
    if isinstance(precision, int) and abs(precision) > limit:
        raise ExpressionLimitError(f"round precision beyond ±{limit}")
    return jinja_filters.do_round(value, precision, method)  # type: ignore[arg-type]


@pass_eval_context
def _tojson(eval_ctx: EvalContext, value: Any, indent: int | str | None = None) -> str:
    limit = current_budget().limits.max_json_indent
    size = len(indent) if isinstance(indent, str) else indent
    if size is not None and size > limit:
        raise ExpressionLimitError(f"tojson indent larger than {limit}")
    return str(jinja_filters.do_tojson(eval_ctx, value, indent))  # type: ignore[arg-type]


def _list(value: Any) -> list[Any]:
    limit = current_budget().limits.max_items
    items = list(itertools.islice(iter(value), limit + 1))
    check_items(len(items), current_budget())
    return items


_REPLACED: dict[str, _Filter] = {
    "batch": _batch,
    "center": _center,
    "format": _format,
    "indent": _indent,
    "join": _join,
    "list": _list,
    "replace": _replace,
    "round": _round,
    "slice": _slice,
    "sum": _sum,
    "tojson": _tojson,
    "wordwrap": _wordwrap,
}

_KEPT = [
    "abs",
    "attr",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "filesizeformat",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "select",
    "selectattr",
    "sort",
    "string",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]

FILTERS: dict[str, _Filter] = {
    name: _bounded(_REPLACED.get(name) or jinja_filters.FILTERS[name])
    for name in sorted([*_KEPT, *_REPLACED])
}
"""The filters expressions may use, by name."""

TESTS = cast("dict[str, Callable[..., Any]]", dict(jinja_tests.TESTS))
"""The tests (``x is odd``) expressions may use: all of Jinja's, which are cheap."""

INLINE_FILTERS = frozenset(
    [
        "abs",
        "capitalize",
        "count",
        "d",
        "default",
        "e",
        "escape",
        "first",
        "float",
        "int",
        "items",
        "last",
        "length",
        "lower",
        "round",
        "string",
        "title",
        "trim",
        "truncate",
        "upper",
        "urlencode",
        "wordcount",
        "tojson",
    ]
)
"""Filters whose cost is linear in their input: a template using only these (and no loops,
calls or multiplying operators) is cheap enough to evaluate inline."""

STRING_METHODS = frozenset(
    [
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "isidentifier",
        "islower",
        "isnumeric",
        "isprintable",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
    ]
)
MAPPING_METHODS = frozenset({"get", "items", "keys", "values"})
SEQUENCE_METHODS = frozenset({"count", "index"})
LOOP_METHODS = frozenset({"cycle", "changed"})


def allowed_methods(obj: object) -> frozenset[str]:
    """The methods expressions may call on ``obj`` (none on anything else)."""
    if isinstance(obj, str):
        return STRING_METHODS
    if isinstance(obj, dict):
        return MAPPING_METHODS
    if isinstance(obj, list | tuple):
        return SEQUENCE_METHODS
    if isinstance(obj, LoopContext):
        return LOOP_METHODS
    return frozenset()
