"""Every error code GovFlow produces for a step is a member of ``StepErrorCode``, and
``docs/engine.md`` lists exactly the members with their meaning.

Where a code is produced:

- a parameter typed ``StepErrorCode`` (``_action_error``, ``TimerError``, ``start_refusal``,
  the sub-workflow refusals) refuses a string under ``mypy --strict``;
- ``StepError``'s and ``FailStep``'s ``code`` stay ``str`` (a signal's code is free-form), so
  this test reads every Python module of ``govflow/`` and ``plugins/`` and fails on a string
  literal given as the code of one of :data:`CODE_ARGUMENTS`, or as the value of a ``"code"``
  key of a dict display (a ``BusinessError``'s ``details``);
- no module of ``govflow/core`` but ``error_codes.py`` spells a code's value (outside the core
  ``tests/unit/test_vocabularies.py`` checks it), and the SQL texts may quote a code only as
  a member (``tests/support/sql_literals.py`` counts the codes among its words).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from govflow.core.error_codes import StepErrorCode
from tests.support.sql_literals import ROOT, SqlText, check_text, python_strings

ANY_MODULE = "*"

CODE_ARGUMENTS: dict[tuple[str, str], tuple[int | None, str]] = {
    (ANY_MODULE, "StepError"): (0, "code"),
    (ANY_MODULE, "FailStep"): (None, "code"),
    (ANY_MODULE, "TimerError"): (0, "code"),
    ("govflow/usecases/run_step.py", "_action_error"): (0, "code"),
    ("govflow/usecases/subworkflows.py", "_refused"): (0, "code"),
    ("govflow/testing/rehearsal.py", "_fail"): (3, "code"),
}
"""``(module, callable) -> (position, keyword)`` of the argument that is an error code
(``ANY_MODULE``: the callable of that name in every module)."""

SAME_WORD_ELSEWHERE = {
    ("govflow/core/machines.py", "LEASE_EXPIRED"): "StepEvent.LEASE_EXPIRED, a machine's event",
}
"""A core module's word that is a code's value but names something else, with what."""

DOC = ROOT / "docs" / "engine.md"
TABLE = re.compile(r"<!-- step-error-codes -->\n(.*?)<!-- /step-error-codes -->\n", re.DOTALL)


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _code_argument(module: str, call: ast.Call) -> ast.expr | None:
    name = _callee(call)
    where = CODE_ARGUMENTS.get((module, name or "")) or CODE_ARGUMENTS.get((ANY_MODULE, name or ""))
    if where is None:
        return None
    position, keyword = where
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def produced_codes(path: Path, module: str) -> list[tuple[int, ast.expr]]:
    """The expressions ``module`` gives as an error code: ``(line, expression)``."""
    found: list[tuple[int, ast.expr]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            argument = _code_argument(module, node)
            if argument is not None:
                found.append((node.lineno, argument))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code":
                    found.append((node.lineno, value))
    return sorted(found, key=lambda item: item[0])


def spelled_codes(root: Path = ROOT) -> list[str]:
    """Each error code given as a string literal, ``module:line: problem``."""
    members = {member.value: member.name for member in StepErrorCode}
    problems = []
    for path in sorted(
        [*root.joinpath("govflow").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]
    ):
        module = str(path.relative_to(root))
        for line, expression in produced_codes(path, module):
            if not (isinstance(expression, ast.Constant) and isinstance(expression.value, str)):
                continue
            value = expression.value
            if value in members:
                problems.append(f"{module}:{line}: {value!r}: name StepErrorCode.{members[value]}")
            else:
                problems.append(
                    f"{module}:{line}: {value!r} is no StepErrorCode: add it to "
                    "govflow/core/error_codes.py and name the member"
                )
    return problems


def code_table() -> str:
    """The markdown table of the codes, from the members' docstrings in their module."""
    source = ROOT / "govflow" / "core" / "error_codes.py"
    (enum,) = [
        node
        for node in ast.parse(source.read_text()).body
        if isinstance(node, ast.ClassDef) and node.name == StepErrorCode.__name__
    ]
    meanings: dict[str, str] = {}
    for statement, following in zip(enum.body, enum.body[1:], strict=False):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            meanings[statement.targets[0].id] = " ".join(following.value.value.split())
    rows = [
        f"| `{member.value}` | {meanings[member.name].replace('``', '`')} |"
        for member in StepErrorCode
    ]
    return "\n".join(["| code | meaning |", "|---|---|", *rows]) + "\n"


# The enum ---------------------------------------------------------------------------------------


def test_values_are_the_names_but_the_one_stored_lower_case() -> None:
    assert [m for m in StepErrorCode if m.value != m.name] == [StepErrorCode.TASK_REJECTED]
    assert StepErrorCode.TASK_REJECTED.value == "task_rejected"


def test_every_member_says_what_it_means() -> None:
    table = code_table()
    assert table.count("\n") == len(StepErrorCode) + 2
    assert (
        "| `EXECUTION_TIMED_OUT` | The execution ran longer than its workflow's `timeout`. |"
        in table
    )


def test_the_stored_values_never_change() -> None:
    """Rows keep these values and the API returns them: a rename is a migration, not an edit."""
    assert {m.value for m in StepErrorCode} == {
        "BUSINESS_ERROR",
        "TECHNICAL_ERROR",
        "OUTCOME_UNKNOWN",
        "TIMEOUT",
        "UNEXPECTED_ERROR",
        "INVALID_SUSPEND",
        "INVALID_STEP_INPUT",
        "EXPRESSION_LIMIT",
        "UNKNOWN_SECRET",
        "ACTION_UNAVAILABLE",
        "LEASE_EXPIRED",
        "HANDLER_CANNOT_WAIT",
        "HANDLER_NEEDS_ATTENTION",
        "EXECUTION_TIMED_OUT",
        "OUTPUTS_INVALID",
        "FOREACH_NOT_A_LIST",
        "FOREACH_TOO_MANY_ITEMS",
        "FOREACH_ITEM_FAILED",
        "FOREACH_CANNOT_WAIT",
        "SUB_WORKFLOW_FAILED",
        "SUB_WORKFLOW_CANCELED",
        "SUB_WORKFLOW_REFUSED",
        "SUB_WORKFLOW_TOO_DEEP",
        "SUB_WORKFLOW_NOT_FOUND",
        "SUB_WORKFLOW_INVALID_INPUTS",
        "WAIT_INVALID",
        "WAIT_TOO_FAR",
        "SIGNALED_ERROR",
        "task_rejected",
    }


# Where codes are produced -----------------------------------------------------------------------


def test_the_places_that_produce_codes_are_found() -> None:
    named: dict[str, set[str]] = {}
    for module_path in [
        *ROOT.joinpath("govflow").rglob("*.py"),
        *ROOT.joinpath("plugins").rglob("*.py"),
    ]:
        module = str(module_path.relative_to(ROOT))
        for _, expression in produced_codes(module_path, module):
            if (
                isinstance(expression, ast.Attribute)
                and isinstance(expression.value, ast.Name)
                and expression.value.id == StepErrorCode.__name__
            ):
                named.setdefault(module, set()).add(expression.attr)
    assert {
        "govflow/usecases/run_step.py",
        "govflow/core/engine.py",
        "govflow/core/foreach.py",
        "govflow/core/subworkflows.py",
        "govflow/core/timers.py",
        "govflow/core/tasks/decide.py",
        "govflow/usecases/subworkflows.py",
        "govflow/testing/rehearsal.py",
    } <= named.keys()
    assert {"BUSINESS_ERROR", "TECHNICAL_ERROR", "TIMEOUT"} <= named["govflow/usecases/run_step.py"]
    # every callable the table names still takes a code where it says
    defined = {
        (str(path.relative_to(ROOT)), node.name)
        for path in ROOT.joinpath("govflow").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    for module, name in CODE_ARGUMENTS:
        assert any(d == (module, name) or (module == ANY_MODULE and d[1] == name) for d in defined)


def test_a_spelled_code_is_found(tmp_path: Path) -> None:
    module = tmp_path / "govflow" / "usecases" / "sample.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from govflow.core.engine import StepError\n"
        "from govflow.core.error_codes import StepErrorCode\n"
        'A = StepError("TIMEOUT", "late")\n'
        'B = StepError(code="PAYMENT_DECLINED", message="no")\n'
        'C = StepError(StepErrorCode.TIMEOUT, "late")\n'
        'D = BusinessError("no", details={"code": "WAIT_TOO_FAR"})\n'
        'E = FailStep(code="task_rejected", message="no")\n'
        "F = StepError(error.code, error.message)\n"
        'G = {"status": "FAILED"}\n'
    )
    assert spelled_codes(tmp_path) == [
        "govflow/usecases/sample.py:3: 'TIMEOUT': name StepErrorCode.TIMEOUT",
        "govflow/usecases/sample.py:4: 'PAYMENT_DECLINED' is no StepErrorCode: add it to "
        "govflow/core/error_codes.py and name the member",
        "govflow/usecases/sample.py:6: 'WAIT_TOO_FAR': name StepErrorCode.WAIT_TOO_FAR",
        "govflow/usecases/sample.py:7: 'task_rejected': name StepErrorCode.TASK_REJECTED",
    ]


def test_every_code_produced_is_a_member_named() -> None:
    problems = spelled_codes()
    assert not problems, "\n".join(problems)


def test_the_core_spells_a_code_only_in_its_enum() -> None:
    values = {member.value for member in StepErrorCode}
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sorted(ROOT.joinpath("govflow", "core").rglob("*.py"))
        if path.name != "error_codes.py"
        for line, text in python_strings(path)
        if text in values and (str(path.relative_to(ROOT)), text) not in SAME_WORD_ELSEWHERE
    ]
    assert not found, "\n".join(found)


def test_sql_may_quote_a_code_but_no_other_word() -> None:
    def problems(text: str) -> list[str]:
        return [p.message for p in check_text(SqlText("sample.sql", text, complete=True))]

    assert problems("SELECT id FROM executions WHERE error->>'code' = 'EXECUTION_TIMED_OUT'") == []
    assert problems("SELECT id FROM executions WHERE error->>'code' = 'EXECUTION_TIMEOUT'") == [
        "'EXECUTION_TIMEOUT' looks like a vocabulary word but is no member"
    ]


# The documentation ------------------------------------------------------------------------------


def test_engine_doc_lists_exactly_the_codes() -> None:
    found = TABLE.search(DOC.read_text(encoding="utf-8"))
    assert found is not None, "docs/engine.md has no <!-- step-error-codes --> table"
    assert found.group(1) == code_table(), (
        "docs/engine.md drifted from StepErrorCode; paste this table between the markers:\n\n"
        + code_table()
    )
