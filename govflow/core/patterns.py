"""Input patterns: the regular expressions workflow authors write, run on RE2.

A workflow's ``inputs.<name>.pattern`` is written by a MANAGER and matched against values an
OPERATOR sends. Python's ``re`` backtracks, so a pattern like ``^(a+)+$`` takes exponential
time on a hostile value. RE2 (``google-re2``) matches in time linear in the value's length and
refuses what needs backtracking (backreferences, lookaround), so every user-supplied pattern
is compiled and matched here and nowhere else.

Linear is not yet cheap: the time of one match grows with the value's length *times* the
size of the compiled program (RE2 falls back to simulating its automaton when its DFA cache
runs out). Three bounds keep one execution start in the low milliseconds whatever the
workflow says:

- a pattern is at most :data:`MAX_PATTERN_LENGTH` characters and compiles to at most
  :data:`MAX_PROGRAM_SIZE` instructions (``^\\p{L}{1,50}$`` is refused: write ``^\\p{L}+$``
  with ``max_length: 50``);
- the values checked in one call share a budget of :data:`MATCH_BUDGET` units, one unit per
  program instruction per UTF-8 byte of a value; a value past what remains is refused (see
  :class:`MatchBudget`).

Semantics follow RE2 (https://github.com/google/re2/wiki/Syntax), which mostly agrees with
Python's: ``\\z`` instead of ``\\Z``, and ``$`` matches only at the very end (never before a
trailing newline), so ``^[a-z]+$`` refuses ``"abc\\n"``.

Error tree::

    PatternError      the engine refuses a pattern; carries ``reason`` and ``offset``
"""

from __future__ import annotations

import re
from typing import Final

import re2

MAX_PATTERN_LENGTH: Final = 1_000
"""The longest pattern accepted, in characters."""
MAX_PROGRAM_SIZE: Final = 5_000
"""The most instructions a compiled pattern may have (``^[A-Z]+-[0-9]+$`` has 9,
``^\\p{L}+$`` about 1,200)."""
MATCH_BUDGET: Final = 4_000_000
"""Program instructions times UTF-8 bytes one call may spend on matching (~20 ms at worst)."""
MAX_MEMORY: Final = 2 * 1024 * 1024
"""RE2's memory budget per compiled pattern (program and DFA cache), in bytes."""


class PatternError(ValueError):
    """The pattern is not accepted by the linear-time regular expression engine.

    :ivar reason: what is wrong, e.g. ``backreferences are not supported``.
    :ivar offset: the 0-based character offset in the pattern where the problem starts, when
        it is known.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        where = f" (character {offset + 1} of the pattern)" if offset is not None else ""
        super().__init__(f"{reason}{where}")


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_MEMORY
    return options


_OPTIONS: Final = _options()

_BACKREFERENCE: Final = re.compile(r"\\(?:[1-9]|k)")
_UNSUPPORTED_GROUPS: Final = {
    "(?=": "lookahead is",
    "(?!": "lookahead is",
    "(?<=": "lookbehind is",
    "(?<!": "lookbehind is",
    "(?P=": "backreferences are",
    "(?>": "atomic groups are",
}


def _reason(pattern: str, raw: str) -> PatternError:
    """A readable :class:`PatternError` from RE2's message (``"<problem>: <fragment>"``)."""
    problem, _, fragment = raw.partition(": ")
    found = pattern.find(fragment) if fragment else -1
    offset = found if found >= 0 else None
    if problem == "pattern too large - compile failed":
        return PatternError(_too_complex(None))
    if problem == "invalid escape sequence" and _BACKREFERENCE.fullmatch(fragment):
        return PatternError(f"backreferences are not supported: {fragment}", offset)
    if problem == "invalid escape sequence" and fragment == "\\Z":
        return PatternError("\\Z is not supported: use \\z for the end of the text", offset)
    if problem == "invalid perl operator":
        for start, feature in _UNSUPPORTED_GROUPS.items():
            if (at := pattern.find(start)) >= 0:
                return PatternError(f"{feature} not supported: {start}", at)
    return PatternError(raw, offset)


def _too_complex(size: int | None) -> str:
    measured = f" ({size} instructions)" if size is not None else ""
    return (
        f"the pattern is too complex{measured}; at most {MAX_PROGRAM_SIZE} instructions "
        "(bound repetitions with min_length/max_length instead of {m,n})"
    )


def compile_pattern(pattern: str) -> re2._Regexp[str]:
    """Compile ``pattern`` for matching (compiled patterns are cached by ``re2``).

    :raises PatternError: the pattern is too long, too complex, invalid, or uses what a
        linear-time engine cannot do (backreferences, lookaround).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    if "\x00" in pattern:
        raise PatternError("the pattern contains a NUL character", pattern.index("\x00"))
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        raw = error.args[0] if error.args else ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise _reason(pattern, text) from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise PatternError(_too_complex(compiled.programsize))
    return compiled


def check_pattern(pattern: str) -> None:
    """Raise :class:`PatternError` when ``pattern`` cannot be used (see
    :func:`compile_pattern`)."""
    compile_pattern(pattern)


class MatchBudget:
    """What is left of :data:`MATCH_BUDGET` for the values of one check (one execution
    start, one workflow's defaults)."""

    def __init__(self, units: int = MATCH_BUDGET) -> None:
        self.remaining = units

    def spend(self, program_size: int, value: str) -> int | None:
        """Take the cost of matching ``value``; ``None`` when it does not fit, otherwise the
        units left. A refused value takes nothing."""
        cost = max(program_size, 1) * max(len(value.encode("utf-8", "surrogatepass")), 1)
        if cost > self.remaining:
            return None
        self.remaining -= cost
        return self.remaining


def longest_checkable(program_size: int, budget: MatchBudget) -> int:
    """The longest value (UTF-8 bytes) that ``budget`` still allows for a pattern of
    ``program_size`` instructions."""
    return budget.remaining // max(program_size, 1)


def matches(pattern: str, value: str, budget: MatchBudget | None = None) -> bool:
    """Whether ``value`` contains a match of ``pattern`` (``re.search`` semantics).

    :raises PatternError: the pattern cannot be used (see :func:`compile_pattern`).
    :raises ValueTooLong: matching ``value`` would exceed what is left of ``budget``.
    """
    compiled = compile_pattern(pattern)
    budget = budget if budget is not None else MatchBudget()
    if budget.spend(compiled.programsize, value) is None:
        raise ValueTooLong(longest_checkable(compiled.programsize, budget))
    return compiled.search(value) is not None


class ValueTooLong(ValueError):
    """The value is too long to be checked against its pattern within the budget.

    :ivar limit: the longest value (in UTF-8 bytes) that could still have been checked.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"too long to be checked against the pattern (at most {limit} bytes here)")
