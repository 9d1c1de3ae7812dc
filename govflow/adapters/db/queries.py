"""Named SQL queries, read once from the ``.sql`` files beside the adapters that run them.

A file holds complete queries, each under a ``-- name: <name>`` line and the comment lines that
say what it does (procrastinate's ``sql/queries.sql`` is the model). Parameters are written by
name, ``:step_id``; loading turns them into asyncpg's ``$1, $2...`` once, in order of first use,
and :meth:`Query.args` puts the values in that order.

A text several queries share (common table expressions that carry out one thing) is written
once, under a ``-- part: <name>`` line, and a query takes it in with an ``-- include: <name>``
line, replaced by the part's text when the file is loaded. Nothing is assembled at run time: the
text sent is fixed by the file.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import msgspec

HEADER = re.compile(r"^-- (name|part): ([a-z0-9_]+)[ \t]*$", re.MULTILINE)
"""The line that opens a named query (``name``) or a part queries include (``part``)."""
_INCLUDE = re.compile(r"^-- include: ([a-z0-9_]+)[ \t]*$", re.MULTILINE)
_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Query(msgspec.Struct, frozen=True, kw_only=True):
    """One named query: its text for asyncpg and the names of its parameters, by position."""

    name: str
    sql: str
    params: tuple[str, ...]

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        """The values of this query's parameters, in order; ``KeyError`` for a missing one."""
        return [values[name] for name in self.params]


def _numbered(name: str, text: str) -> Query:
    params: list[str] = []

    def number(match: re.Match[str]) -> str:
        param = match.group(1)
        if param not in params:
            params.append(param)
        return f"${params.index(param) + 1}"

    lines = []
    for line in text.splitlines():
        code, dashes, comment = line.partition("--")
        lines.append(_PARAMETER.sub(number, code) + dashes + comment)
    return Query(name=name, sql="\n".join(lines).strip() + "\n", params=tuple(params))


def parse_queries(text: str) -> dict[str, Query]:
    """The queries of one file's ``text``, by name, their parts included; ``ValueError`` for a
    name used twice, or an include of a part the file does not define."""
    pieces = HEADER.split(text)
    bodies: dict[str, dict[str, str]] = {"name": {}, "part": {}}
    for kind, name, body in zip(pieces[1::3], pieces[2::3], pieces[3::3], strict=True):
        if name in bodies[kind]:
            raise ValueError(f"{'query' if kind == 'name' else 'part'} {name!r} is defined twice")
        bodies[kind][name] = body
    return {
        name: _numbered(name, with_parts(body, bodies["part"]))
        for name, body in bodies["name"].items()
    }


def with_parts(body: str, parts: Mapping[str, str]) -> str:
    """A query's ``body`` with each ``-- include: <part>`` line replaced by the part's text;
    ``ValueError`` for a part not in ``parts``."""

    def included(match: re.Match[str]) -> str:
        part = parts.get(match.group(1))
        if part is None:
            raise ValueError(f"no part {match.group(1)!r} to include")
        return part.strip()

    return _INCLUDE.sub(included, body)


@functools.cache
def load_queries(filename: str) -> Mapping[str, Query]:
    """The queries of ``govflow/adapters/db/sql/<filename>``, by name."""
    folder = resources.files("govflow.adapters.db").joinpath("sql")
    text = folder.joinpath(filename).read_text("utf-8")
    return parse_queries(text)
