"""Check a data tree against a msgspec type, reporting every problem with its spec path.

``msgspec.convert`` stops at the first error; this walk goes through Structs, dicts, lists and
optional values itself and lets msgspec judge only the leaves, so one pass finds all problems
and each message is phrased for a workflow author. With ``templates=True`` a leaf that is a
template string (``"{{ inputs.n }}"``) is accepted whatever its type: it is checked after
rendering, at run time.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from govflow.core.durations import DURATION_PATTERN, is_duration
from govflow.core.expressions import is_template
from govflow.core.spec import PATTERN_MESSAGES
from govflow.core.yaml_source import ROOT, child_path

MISSING_KEY = "missing required key"
"""How a required key left out is worded (followed by the key)."""
Problems = list[tuple[str, str, bool]]
"""(spec path, message, at the key rather than the value)."""

_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "int | float": "a number",
    "str": "text",
    "bool": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing (null)",
}
_EXPECTED_GOT = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`")
_BOUND = re.compile(r"^Expected `(?P<type>[^`]+)`(?: of length)? (?P<op>>=|<=|>|<) (?P<n>\S+)$")
_REGEX = re.compile(r"^Expected `str` matching regex (?P<pattern>'.*')$")
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}


def suggest(word: str, choices: list[str] | set[str] | frozenset[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(value: Any) -> str:
    """A short picture of ``value`` for a message."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _words(type_name: str) -> str:
    if type_name not in _TYPE_WORDS and " | " in type_name:  # a union: "text or a list"
        return " or ".join(_words(part) for part in type_name.split(" | "))
    return _TYPE_WORDS.get(type_name, type_name.replace("`", "'"))


def translate(message: str, value: Any) -> tuple[str, str]:
    """Turn a msgspec validation message into (relative spec path, author message)."""
    suffix = ""
    at = _AT.search(message)
    if at is not None:
        suffix = at.group("path")
        message = message[: at.start()]
    if (match := _EXPECTED_GOT.match(message)) is not None:
        return suffix, f"expected {_words(match['expected'])}, got {describe(value)}"
    if (match := _BOUND.match(message)) is not None:
        what = "length" if match["type"] in ("str", "array", "object") else "value"
        words = _BOUND_WORDS[match["op"]]
        return suffix, f"{what} must be {words} {match['n']}, got {describe(value)}"
    if (match := _REGEX.match(message)) is not None:
        return suffix, f"{describe(value)} does not match the pattern {match['pattern']}"
    if message.startswith("Invalid enum value"):
        return suffix, f"{describe(value)} is not one of the allowed values"
    return suffix, message[:1].lower() + message[1:]


def join_path(path: str, suffix: str) -> str:
    """``path`` extended by a msgspec path suffix such as ``.assignee`` or ``[0].role``."""
    if not suffix:
        return path
    if path == ROOT:
        return suffix.lstrip(".")
    return f"{path}{suffix}" if suffix.startswith("[") else f"{path}.{suffix.lstrip('.')}"


def _unwrap(annotation: Any) -> tuple[Any, list[msgspec.Meta]]:
    metas: list[msgspec.Meta] = []
    while get_origin(annotation) is Annotated:
        base, *extra = get_args(annotation)
        metas.extend(m for m in extra if isinstance(m, msgspec.Meta))
        annotation = base
    return annotation, metas


def _is_struct(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


class StructChecker:
    """Walks a data tree beside a type; collects problems as (path, message, at_key)."""

    def __init__(self, *, templates: bool = False) -> None:
        self.templates = templates
        self.problems: Problems = []

    def add(self, path: str, message: str, *, at_key: bool = False) -> None:
        """Record one problem."""
        self.problems.append((path, message, at_key))

    def check(self, value: Any, annotation: Any, path: str) -> None:
        """Check ``value`` against ``annotation`` at ``path``."""
        base, metas = _unwrap(annotation)
        if base is Any:
            return
        if self.templates and is_template(value):
            return
        origin = get_origin(base)
        if _is_struct(base):
            self._struct(value, base, path)
        elif origin in (Union, types.UnionType):
            self._union(value, base, metas, path)
        elif origin is dict:
            self._dict(value, base, metas, path)
        elif origin is list:
            self._list(value, base, metas, path)
        elif origin is Literal:
            choices = get_args(base)
            if value not in choices or isinstance(value, bool):
                allowed = ", ".join(str(c) for c in choices)
                self.add(path, f"expected one of {allowed}, got {describe(value)}")
        else:
            self._leaf(value, annotation, metas, path)

    def _struct(self, value: Any, struct: type[msgspec.Struct], path: str) -> None:
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping, got {describe(value)}")
            return
        fields = {f.encode_name: f for f in msgspec.structs.fields(struct)}
        if struct.__struct_config__.forbid_unknown_fields:
            for key in value:
                if key not in fields:
                    hint = suggest(key, set(fields)) or f" (allowed: {', '.join(fields)})"
                    self.add(child_path(path, key), f"unknown key {key!r}{hint}", at_key=True)
        for name, info in fields.items():
            if name in value:
                self.check(value[name], info.type, child_path(path, name))
            elif info.required:
                self.add(path, f"{MISSING_KEY} {name!r}", at_key=True)

    def _union(self, value: Any, base: Any, metas: list[msgspec.Meta], path: str) -> None:
        members = [m for m in get_args(base) if m is not type(None)]
        if value is None and len(members) < len(get_args(base)):
            return
        if len(members) == 1:
            self.check(value, members[0], path)
            return
        if isinstance(value, list):
            lists = [m for m in members if get_origin(_unwrap(m)[0]) is list]
            if len(lists) == 1:  # the list's items are walked: templates, paths per item
                self.check(value, lists[0], path)
                return
        if isinstance(value, dict):
            structs = [m for m in members if _is_struct(_unwrap(m)[0])]
            if len(structs) == 1:  # a mapping is that Struct: its keys are checked one by one
                self.check(value, structs[0], path)
                return
        self._leaf(value, base, metas, path)

    def _sized(self, value: Any, metas: list[msgspec.Meta], path: str) -> None:
        for meta in metas:
            if meta.min_length is not None and len(value) < meta.min_length:
                what = (
                    "must not be empty"
                    if meta.min_length == 1
                    else (f"needs at least {meta.min_length} entries")
                )
                self.add(path, what, at_key=True)
            if meta.max_length is not None and len(value) > meta.max_length:
                self.add(path, f"holds more than {meta.max_length} entries", at_key=True)

    def _dict(self, value: Any, base: Any, metas: list[msgspec.Meta], path: str) -> None:
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping, got {describe(value)}")
            return
        self._sized(value, metas, path)
        key_type, item_type = get_args(base)
        for key, item in value.items():
            item_path = child_path(path, key)
            self._leaf(key, key_type, _unwrap(key_type)[1], item_path, at_key=True)
            self.check(item, item_type, item_path)

    def _list(self, value: Any, base: Any, metas: list[msgspec.Meta], path: str) -> None:
        if not isinstance(value, list):
            self.add(path, f"expected a list, got {describe(value)}")
            return
        self._sized(value, metas, path)
        (item_type,) = get_args(base)
        for index, item in enumerate(value):
            self.check(item, item_type, child_path(path, index))

    def _leaf(
        self,
        value: Any,
        annotation: Any,
        metas: list[msgspec.Meta],
        path: str,
        *,
        at_key: bool = False,
    ) -> None:
        for meta in metas:
            template = PATTERN_MESSAGES.get(meta.pattern or "")
            if template is None:
                continue
            valid = (
                is_duration(value)
                if meta.pattern == DURATION_PATTERN
                else (isinstance(value, str) and re.search(meta.pattern or "", value) is not None)
            )
            if not valid:
                self.add(path, template.format(value=value), at_key=at_key)
                return
        try:
            msgspec.convert(value, annotation)
        except msgspec.ValidationError as error:
            suffix, message = translate(str(error), value)
            self.add(join_path(path, suffix), message, at_key=at_key)


def check_against(value: Any, annotation: Any, path: str, *, templates: bool = False) -> Problems:
    """Every problem of ``value`` against ``annotation``, as (path, message, at_key)."""
    checker = StructChecker(templates=templates)
    checker.check(value, annotation, path)
    return checker.problems
