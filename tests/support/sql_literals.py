"""The vocabulary words in GovFlow's SQL, read with PostgreSQL's own parser (pglast).

A *vocabulary* is an enum of ``govflow/core`` whose values PostgreSQL stores: the columns that
hold one name it as their ``choices`` in ``govflow/adapters/db/tables.py``; audit event names go
to ``audit_logs.action``. This module

- finds every SQL text: each ``*.sql`` file under ``govflow/`` and ``migrations/``, and each
  string constant of a Python module under ``govflow/`` or ``plugins/`` that reads as SQL
  (module-level names an f-string splices in are resolved);
- finds each quoted literal in it and, where the statement says so, the column it is compared
  with, assigned to, inserted into or declared as the default or CHECK of;
- reports a literal that is no member of its column's enum, and an upper-case word met by no
  vocabulary column (``$2 IN ('COMPLETED', ...)``) that is no member of any vocabulary;
- reads the CHECK constraints of a migrated database back (a table's, or the domain's of a
  column whose type is a domain) and compares each vocabulary column's allowed values with its
  enum.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pglast import ast as pg
from pglast import parse_sql
from pglast.enums import AlterTableType, ConstrType
from pglast.parser import ParseError, scan

from govflow.adapters.db.queries import HEADER, with_parts
from govflow.adapters.db.tables import ALL_TABLES
from govflow.core.audit_events import AuditEvent
from govflow.core.error_codes import StepErrorCode

ROOT = Path(__file__).parents[2]

Column = tuple[str, str]
"""``(table, column)``."""

UPPER_WORD = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
"""What a status, role, outcome or audit event name looks like."""

COLUMNLESS: tuple[type[StrEnum], ...] = (StepErrorCode,)
"""Vocabularies no column holds as such (a step error's ``code`` is a field of its ``error``
JSON): SQL may quote their words outside a column context."""

NOT_VOCABULARY = {"MEMBER": "the privilege pg_has_role asks about"}
"""Upper-case words SQL may quote that are PostgreSQL's own, with why."""

SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|CHECK|VALUES|RETURNING)\b")


def vocabulary_columns() -> dict[Column, type[StrEnum]]:
    """The columns whose Piccolo declaration names an enum as ``choices``: each needs a CHECK."""
    return {
        (table._meta.tablename, column._meta.db_column_name): column._meta.choices
        for table in ALL_TABLES
        for column in table._meta.columns
        if column._meta.choices is not None
    }


def literal_columns() -> dict[Column, type[StrEnum]]:
    """The columns a quoted literal is checked against: the vocabulary columns and
    ``audit_logs.action`` (left without a CHECK: plugins name events of their own)."""
    return {**vocabulary_columns(), ("audit_logs", "action"): AuditEvent}


@dataclass(frozen=True)
class SqlText:
    """One SQL text and where it comes from (``path:line``)."""

    where: str
    text: str
    complete: bool
    """A ``.sql`` file must parse; a Python string may be a fragment (then it is only scanned)."""
    first_line: int = 1
    """The line of the file the text starts on (a named query of a ``.sql`` file)."""


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# Finding SQL texts ------------------------------------------------------------------------------


NAMED_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
"""``:step_id``, which the loader numbers ``$1, $2...`` (``::jsonb`` is a cast, not one)."""


def sql_files(root: Path = ROOT) -> list[SqlText]:
    """Every ``.sql`` file of the package and of the migrations; a file of named queries gives
    one text per query, its ``:name`` parameters read as ``$1`` (the same length, so positions
    stay those of the file). A part is scanned on its own and parsed within each query that
    includes it (a position past an include in such a query is the included text's)."""
    paths = sorted(
        [*root.joinpath("govflow").rglob("*.sql"), *root.joinpath("migrations").glob("*.sql")]
    )
    texts = []
    for path in paths:
        where, text = str(path.relative_to(root)), path.read_text()
        headers = list(HEADER.finditer(text))
        if not headers:
            texts.append(SqlText(where, text, complete=True))
            continue
        pieces = [
            (header, text[header.end() : following.start() if following else len(text)])
            for header, following in zip(headers, [*headers[1:], None], strict=True)
        ]
        parts = {header.group(2): body for header, body in pieces if header.group(1) == "part"}
        for header, body in pieces:
            is_query = header.group(1) == "name"
            if is_query:
                body = with_parts(body, parts)
            texts.append(
                SqlText(
                    where,
                    _positional(body),
                    complete=is_query,
                    first_line=text.count("\n", 0, header.end()) + 1,
                )
            )
    return texts


def _positional(body: str) -> str:
    lines = []
    for line in body.split("\n"):
        code, dashes, comment = line.partition("--")
        code = NAMED_PARAMETER.sub(lambda m: "$1".ljust(len(m.group(0))), code)
        lines.append(code + dashes + comment)
    return "\n".join(lines)


def python_sql(root: Path = ROOT) -> list[SqlText]:
    """The string constants of the Python modules under ``govflow/`` and ``plugins/`` that read
    as SQL (docstrings excluded)."""
    found = []
    for path in sorted(
        [*root.joinpath("govflow").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]
    ):
        where = str(path.relative_to(root))
        found.extend(
            SqlText(f"{where}:{line}", text, complete=False)
            for line, text in _strings(ast.parse(path.read_text()))
            if SQL_WORDS.search(text)
        )
    return found


def python_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module but its docstrings, f-strings resolved where the names
    they splice are module-level strings: ``(line, text)``."""
    return _strings(ast.parse(path.read_text()))


def _strings(tree: ast.Module) -> list[tuple[int, str]]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    module_names: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                module_names[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            module_names[statement.target.id] = statement.value
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in ast.walk(node)
        if part is not node
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in inside_fstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            found.append((node.lineno, _resolve(node, module_names, depth=0)))
    return sorted(found, key=lambda item: item[0])


def _resolve(node: ast.expr, names: Mapping[str, ast.expr], depth: int) -> str:
    """The text of a string expression; a name that is no module-level string reads as ``x``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_resolve(part, names, depth) for part in node.values)
    if isinstance(node, ast.FormattedValue):
        return _resolve(node.value, names, depth)
    if isinstance(node, ast.Name) and node.id in names and depth < 10:
        return _resolve(names[node.id], names, depth + 1)
    return " x "


# Literals and their columns ---------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: str
    offset: int
    columns: frozenset[Column] | None
    """The columns the literal is compared with or stored in; ``None``: no column context."""


def literals(text: str) -> list[Literal]:
    """The quoted literals of a complete SQL text, each with its column context.

    :raises ParseError: ``text`` is not complete SQL.
    """
    found: list[Literal] = []
    for raw in parse_sql(text):
        walker = _Walker(_relations(raw.stmt))
        walker.walk(raw.stmt, None, None)
        found.extend(
            Literal(lit.value, _quoted_at(text, lit.value, lit.offset), lit.columns)
            for lit in walker.found
        )
        for body, offset in walker.bodies:
            found.extend(Literal(v, offset, None) for v, _ in scanned_literals(body))
    return found


def _quoted_at(text: str, value: str, near: int) -> int:
    """Where ``'value'`` is written, from ``near`` (the position of the node around it) on."""
    position = text.find("'" + value.replace("'", "''") + "'", near)
    return position if position >= 0 else near


def scanned_literals(text: str) -> list[tuple[str, int]]:
    """The quoted literals of any SQL text, fragments included, by PostgreSQL's lexer.

    :raises ParseError: the text cannot be tokenized (an unterminated quote).
    """
    found = []
    for token in scan(text):
        if token.name != "SCONST":
            continue
        raw = text[token.start : token.end + 1]
        if raw.startswith("'") and raw.endswith("'"):
            found.append((raw[1:-1].replace("''", "'"), token.start))
    return found


def _relations(stmt: pg.Node) -> dict[str, str]:
    """Alias (or name) -> table, for every table the statement names."""
    aliases: dict[str, str] = {}
    for node in _nodes(stmt):
        if isinstance(node, pg.RangeVar) and node.relname:
            aliases.setdefault(node.relname, node.relname)  # FOR UPDATE OF p names an alias
            if node.alias is not None:
                aliases[node.alias.aliasname] = node.relname
    return aliases


def _nodes(node: object) -> Iterator[pg.Node]:
    if isinstance(node, tuple | list):
        for item in node:
            yield from _nodes(item)
    elif isinstance(node, pg.Node):
        yield node
        for name in node.__slots__:
            yield from _nodes(getattr(node, name, None))


@dataclass
class _Walker:
    aliases: dict[str, str]
    found: list[Literal] = field(default_factory=list)
    bodies: list[tuple[str, int]] = field(default_factory=list)
    at: int = 0
    """The position of the innermost node that has one (pglast gives constants none)."""

    def walk(self, node: object, context: frozenset[Column] | None, primary: str | None) -> None:
        """Walk ``node``; ``context``: the columns a literal here stands for; ``primary``: the
        table an unqualified column belongs to."""
        if isinstance(node, tuple | list):
            for item in node:
                self.walk(item, context, primary)
            return
        if not isinstance(node, pg.Node):
            return
        outer = self.at
        location = getattr(node, "location", None)
        if isinstance(location, int) and location >= 0:
            self.at = location
        try:
            self._walk(node, context, primary)
        finally:
            self.at = outer

    def _walk(self, node: pg.Node, context: frozenset[Column] | None, primary: str | None) -> None:
        match node:
            case pg.A_Const(val=pg.String(sval=value)):
                self.found.append(Literal(value, self.at, context))
            case pg.TypeCast() | pg.A_ArrayExpr() | pg.CoalesceExpr():
                self._children(node, context, primary)
            case pg.CaseExpr():
                self.walk(node.arg, None, primary)
                for when in node.args or ():
                    self.walk(when.expr, None, primary)
                    self.walk(when.result, context, primary)
                self.walk(node.defresult, context, primary)
            case pg.A_Expr():
                self._comparison(node, primary)
            case pg.UpdateStmt() | pg.DeleteStmt():
                table = node.relation.relname
                for target in getattr(node, "targetList", None) or ():
                    self._target(target, frozenset({(table, target.name)}), table)
                for name in set(node.__slots__) - {"relation", "targetList"}:
                    self.walk(getattr(node, name, None), None, table)
            case pg.InsertStmt():
                self._insert(node)
            case pg.SelectStmt():
                tables = [t for t in node.fromClause or () if isinstance(t, pg.RangeVar)]
                only = tables[0].relname if len(tables) == len(node.fromClause or ()) == 1 else None
                self._children(node, None, only)
            case pg.CreateStmt():
                self._create(node)
            case pg.AlterTableStmt():
                self._alter(node)
            case pg.IndexStmt():
                self._children(node, None, node.relation.relname)
            case pg.DoStmt():
                for option in node.args or ():
                    if option.defname == "as":
                        self.bodies.append((option.arg.sval, option.arg_location or 0))
            case pg.CreateFunctionStmt():
                for option in node.options or ():
                    if option.defname == "as":
                        for part in option.arg:
                            self.bodies.append((part.sval, option.location or 0))
            case _:
                self._children(node, None, primary)

    def _target(
        self, target: pg.ResTarget, context: frozenset[Column] | None, primary: str | None
    ) -> None:
        """The value of ``SET column = value`` or of a selected column, at the target's place."""
        outer = self.at
        location = target.location
        if isinstance(location, int) and location >= 0:
            self.at = location
        try:
            self.walk(target.val, context, primary)
        finally:
            self.at = outer

    def _children(
        self, node: pg.Node, context: frozenset[Column] | None, primary: str | None
    ) -> None:
        for name in node.__slots__:
            self.walk(getattr(node, name, None), context, primary)

    def _columns(self, node: object, primary: str | None) -> frozenset[Column] | None:
        while isinstance(node, pg.TypeCast):
            node = node.arg
        if not isinstance(node, pg.ColumnRef):
            return None
        names = [f.sval for f in node.fields if isinstance(f, pg.String)]
        if not names:
            return None
        if len(names) >= 2:
            table = self.aliases.get(names[-2])
            return frozenset({(table, names[-1])}) if table else None
        tables = {primary} if primary else set(self.aliases.values())
        return frozenset((table, names[-1]) for table in tables)

    def _comparison(self, node: pg.A_Expr, primary: str | None) -> None:
        left = self._columns(node.lexpr, primary)
        right = self._columns(node.rexpr, primary)
        self.walk(node.lexpr, right, primary)
        self.walk(node.rexpr, left, primary)

    def _insert(self, node: pg.InsertStmt) -> None:
        table = node.relation.relname
        columns = [frozenset({(table, c.name)}) for c in node.cols or ()]
        self._insert_rows(node.selectStmt, columns, table)
        for name in set(node.__slots__) - {"relation", "cols", "selectStmt"}:
            self.walk(getattr(node, name, None), None, table)

    def _insert_rows(self, select: object, columns: list[frozenset[Column]], table: str) -> None:
        if not isinstance(select, pg.SelectStmt):
            self.walk(select, None, table)
            return
        if select.larg is not None:
            self._insert_rows(select.larg, columns, table)
            self._insert_rows(select.rarg, columns, table)
            return
        rows = [list(row) for row in select.valuesLists or ()]
        if select.targetList:
            rows.append(list(select.targetList))
        for row in rows:
            for index, value in enumerate(row):
                column = columns[index] if index < len(columns) else None
                if isinstance(value, pg.ResTarget):
                    self._target(value, column, None)
                else:
                    self.walk(value, column, None)
        tables = [t for t in select.fromClause or () if isinstance(t, pg.RangeVar)]
        only = tables[0].relname if len(tables) == 1 else None
        for name in ("withClause", "fromClause", "whereClause", "groupClause", "havingClause"):
            self.walk(getattr(select, name, None), None, only)

    def _create(self, node: pg.CreateStmt) -> None:
        table = node.relation.relname
        for element in node.tableElts or ():
            if isinstance(element, pg.ColumnDef):
                for constraint in element.constraints or ():
                    column = frozenset({(table, element.colname)})
                    if constraint.contype == ConstrType.CONSTR_DEFAULT:
                        self.walk(constraint.raw_expr, column, table)
                    else:
                        self.walk(constraint.raw_expr, None, table)
            else:
                self.walk(element, None, table)

    def _alter(self, node: pg.AlterTableStmt) -> None:
        table = node.relation.relname
        for command in node.cmds or ():
            if command.subtype == AlterTableType.AT_ColumnDefault:
                self.walk(command.def_, frozenset({(table, command.name)}), table)
            else:
                self.walk(command.def_, None, table)


# Checking ---------------------------------------------------------------------------------------


def all_words() -> dict[str, set[type[StrEnum]]]:
    """Every vocabulary value -> the enums it belongs to."""
    words: dict[str, set[type[StrEnum]]] = {}
    for enum in set(literal_columns().values()):
        for member in enum:
            words.setdefault(member.value, set()).add(enum)
    return words


RETIRED: Mapping[tuple[Column, str], str] = {
    (("human_tasks", "status"), "EXPIRED"): "migrations/0011_human_tasks.sql",
}
"""A value a migration took out of its column's enum -> that migration: the migrations before
it (applied as they were, never edited) may still spell it."""


def _retired(sql: SqlText, literal: Literal) -> bool:
    for column in literal.columns or ():
        retiring = RETIRED.get((column, literal.value))
        if retiring is not None and sql.where.startswith("migrations/") and sql.where < retiring:
            return True
    return False


def check_text(
    sql: SqlText,
    columns: Mapping[Column, type[StrEnum]] | None = None,
) -> list[Problem]:
    """The literals of ``sql`` that are no member of their column's enum (or, outside a column
    context, upper-case words of no vocabulary)."""
    columns = literal_columns() if columns is None else columns
    words = {member.value for enum in {*columns.values(), *COLUMNLESS} for member in enum}
    try:
        found = literals(sql.text)
    except ParseError as exc:
        if sql.complete:
            return [Problem(sql.where, f"not SQL PostgreSQL can parse: {exc}")]
        try:
            found = [Literal(v, o, None) for v, o in scanned_literals(sql.text)]
        except ParseError as scan_error:
            return [Problem(sql.where, f"not SQL PostgreSQL can read: {scan_error}")]
    problems = []
    for literal in found:
        where = _where(sql, literal.offset)
        enums = {columns[c] for c in literal.columns or () if c in columns}
        if enums and _retired(sql, literal):
            continue
        if enums:
            if not any(literal.value in {m.value for m in enum} for enum in enums):
                names = " or ".join(sorted(e.__name__ for e in enums))
                targets = ", ".join(
                    sorted(f"{t}.{c}" for t, c in literal.columns or () if (t, c) in columns)
                )
                problems.append(
                    Problem(where, f"'{literal.value}' ({targets}) is no member of {names}")
                )
        elif _unknown_word(literal.value, words):
            problems.append(
                Problem(where, f"'{literal.value}' looks like a vocabulary word but is no member")
            )
    return problems


def _unknown_word(value: str, words: set[str]) -> bool:
    """An upper-case word (``PAUSED``) that is no vocabulary value nor PostgreSQL's own."""
    return bool(UPPER_WORD.fullmatch(value)) and value not in words | NOT_VOCABULARY.keys()


def _where(sql: SqlText, offset: int) -> str:
    if not sql.complete:
        return sql.where
    line = sql.first_line + sql.text.count("\n", 0, offset)
    return f"{sql.where}:{line}"


def check_texts(
    texts: Iterable[SqlText], columns: Mapping[Column, type[StrEnum]] | None = None
) -> list[Problem]:
    return [problem for text in texts for problem in check_text(text, columns)]


# CHECK constraints ------------------------------------------------------------------------------

CHECKS_QUERY = """
SELECT c.conrelid::regclass::text AS table_name, NULL::text AS column_name,
       pg_get_expr(c.conbin, c.conrelid) AS expr
  FROM pg_constraint c
 WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace AND c.conrelid <> 0
UNION ALL
SELECT a.attrelid::regclass::text, a.attname::text, pg_get_expr(c.conbin, 0)
  FROM pg_constraint c
  JOIN pg_attribute a ON a.atttypid = c.contypid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_class r ON r.oid = a.attrelid AND r.relkind IN ('r', 'p')
 WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace AND c.contypid <> 0
"""
"""Every CHECK constraint of the public schema as ``table_name, column_name, expr``: a table's
(``column_name`` NULL: the expression names its columns) and a domain's, once for each table
column of the domain (its expression names ``VALUE``, which stands for that column)."""

Check = tuple[str, str] | tuple[str, str | None, str]
"""``(table, expression)`` of a table's CHECK, or ``(table, column, expression)``: a domain's
CHECK applied to ``table.column`` (``column`` None: a table's)."""


def allowed_values(expression: str) -> tuple[str | None, set[str]]:
    """The one column a CHECK expression constrains (``None`` when it names several; ``value``
    for a domain's) and the string values it lists."""
    select = parse_sql(f"SELECT {expression}")[0].stmt
    columns = {
        node.fields[-1].sval
        for node in _nodes(select)
        if isinstance(node, pg.ColumnRef) and isinstance(node.fields[-1], pg.String)
    }
    values = {
        node.val.sval
        for node in _nodes(select)
        if isinstance(node, pg.A_Const) and isinstance(node.val, pg.String)
    }
    return (columns.pop() if len(columns) == 1 else None), values


def compare_checks(
    checks: Iterable[Check], vocabularies: Mapping[Column, type[StrEnum]]
) -> list[str]:
    """Differences between the CHECK constraints (rows of ``CHECKS_QUERY``, a table's or a
    domain's, see :data:`Check`) and the enums: each vocabulary column needs exactly one CHECK
    listing values, a table's or its domain's, allowing exactly its enum."""
    allowed: dict[Column, list[set[str]]] = {}
    for check in checks:
        table, expression = check[0], check[-1]
        column, values = allowed_values(expression)
        if len(check) == 3 and check[1] is not None:  # a domain's CHECK on table.check[1]
            column = check[1] if column == "value" else None
        if column is not None and values:
            allowed.setdefault((table, column), []).append(values)
    problems = []
    for (table, column), enum in sorted(vocabularies.items()):
        found = allowed.get((table, column), [])
        if len(found) != 1:
            problems.append(
                f"{table}.{column} holds {enum.__name__} values but has {len(found)} CHECK "
                "constraints listing values (one is needed: add it in a migration)"
            )
            continue
        members = {member.value for member in enum}
        for missing in sorted(members - found[0]):
            problems.append(
                f"{enum.__name__} '{missing}' is not allowed by the CHECK on {table}.{column}"
            )
        for extra in sorted(found[0] - members):
            problems.append(
                f"the CHECK on {table}.{column} allows '{extra}', no member of {enum.__name__}"
            )
    for table, column in sorted(set(allowed) - set(vocabularies)):
        problems.append(
            f"{table}.{column} has a CHECK listing values, but tables.py names no enum "
            "as its choices"
        )
    return problems
