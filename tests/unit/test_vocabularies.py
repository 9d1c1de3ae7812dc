"""Every vocabulary is defined once, in ``govflow/core``, and nowhere spelled out again.

A vocabulary is an enum whose values leave the process (stored, logged, labelled): statuses,
attempt and recovery outcomes, roles, audit events and the reasons they carry. Outside
``govflow/core`` no Python string is one of their values and no SQL string quotes one: SQL that
must spell a status lives in ``.sql`` files, which ``tests/integration/test_sql_literals.py``
checks against the enums.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from govflow.core.audit_events import AuditEvent, LateEventReason, SkipReason
from govflow.core.error_codes import StepErrorCode
from govflow.core.roles import Role
from govflow.core.statuses import (
    AttemptOutcome,
    ExecutionStatus,
    HumanTaskStatus,
    RecoveryOutcome,
    StepStatus,
)
from tests.support.sql_literals import ROOT, python_sql, python_strings, scanned_literals

UPPER_CASE = [ExecutionStatus, StepStatus, HumanTaskStatus, AttemptOutcome, Role, AuditEvent]
LOWER_CASE = [RecoveryOutcome, LateEventReason, SkipReason]
ERROR_CODES = [StepErrorCode]
"""Upper case but the one code stored lower case (``tests/unit/test_error_codes.py``)."""

PENDING_CLEANUP = {
    "govflow/usecases/run_step.py": "engineer I: LateEventReason.LATE_RESULT",
}
"""Modules being rewritten in parallel that spelled vocabulary words out when this test was
written; an entry goes once its module is clean."""


def vocabulary_words() -> dict[str, str]:
    """Every vocabulary value -> the enum it belongs to."""
    words: dict[str, str] = {}
    for enum in UPPER_CASE + LOWER_CASE + ERROR_CODES:
        for member in enum:
            words.setdefault(member.value, enum.__name__)
    return words


def spelled_out(root: Path = ROOT) -> dict[str, list[str]]:
    """Per module outside ``govflow/core``: the vocabulary words it spells out, as a Python
    string or quoted in SQL (docstrings aside)."""
    words = vocabulary_words()
    found: dict[str, list[str]] = {}
    for path in sorted(
        [*root.joinpath("govflow").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]
    ):
        module = str(path.relative_to(root))
        if module.startswith("govflow/core/"):
            continue
        for line, text in python_strings(path):
            if text in words:
                found.setdefault(module, []).append(f"{module}:{line}: {words[text]} {text!r}")
    for sql in python_sql(root):
        module = sql.where.split(":")[0]
        if module.startswith("govflow/core/"):
            continue
        for value, _ in scanned_literals(sql.text):
            if value in words:
                found.setdefault(module, []).append(f"{sql.where}: {words[value]} '{value}' in SQL")
    return found


# The enums --------------------------------------------------------------------------------------


@pytest.mark.parametrize("enum", UPPER_CASE)
def test_stored_values_are_their_upper_case_names(enum: type[StrEnum]) -> None:
    assert all(member.value == member.name for member in enum)


@pytest.mark.parametrize("enum", LOWER_CASE)
def test_labels_and_reasons_are_their_lower_case_names(enum: type[StrEnum]) -> None:
    assert all(member.value == member.name.lower() for member in enum)


def test_a_word_means_one_thing_across_vocabularies() -> None:
    """The same word in two vocabularies names the same thing (``COMPLETED`` for an execution,
    a step and an attempt), never an audit event or a role."""
    statuses = {
        m.value for e in (ExecutionStatus, StepStatus, HumanTaskStatus, AttemptOutcome) for m in e
    }
    assert statuses.isdisjoint({m.value for m in AuditEvent})
    assert statuses.isdisjoint({m.value for m in Role})
    assert statuses.isdisjoint({m.value for m in StepErrorCode})


def test_execution_groups_for_workers_and_waiters() -> None:
    assert {ExecutionStatus.PENDING, ExecutionStatus.RUNNING} == ExecutionStatus.RUNNABLE
    assert ExecutionStatus.RUNNABLE < ExecutionStatus.ACTIVE
    assert set(ExecutionStatus) - ExecutionStatus.RUNNABLE == ExecutionStatus.SETTLED
    assert ExecutionStatus.TERMINAL < ExecutionStatus.SETTLED


def test_attempt_outcomes_cover_how_an_attempt_ends() -> None:
    assert [o.value for o in AttemptOutcome] == [
        "COMPLETED",
        "FAILED",
        "SKIPPED",
        "RETRY",
        "SUSPENDED",
        "RECOVERED",
        "LOST",
        "HANDED_BACK",
    ]
    assert {o.value for o in RecoveryOutcome} == {
        "recovered",
        "needs_attention",
        "completed_by_lookup",
        "failed",
        "lookup_failed",
    }


def test_roles() -> None:
    assert [r.value for r in Role] == ["ADMIN", "MANAGER", "OPERATOR"]
    assert {Role.ADMIN, Role.MANAGER} == Role.MANAGERS


def test_step_events_are_the_step_level_audit_events() -> None:
    assert {
        e for e in AuditEvent if e.name.startswith("WORKFLOW_EXECUTION_STEP_")
    } == AuditEvent.STEP
    assert AuditEvent.WORKFLOW_EXECUTION_STEP_STARTED in AuditEvent.STEP
    assert AuditEvent.WORKFLOW_EXECUTION_PROCESS_STARTED not in AuditEvent.STEP
    assert AuditEvent.WORKFLOW_EXECUTION_CREATED not in AuditEvent.STEP


def test_no_event_is_in_the_manual_namespace() -> None:
    assert not [e for e in AuditEvent if e.startswith("MANUAL_")]


# Nowhere else -----------------------------------------------------------------------------------


def test_a_spelled_out_word_is_found(tmp_path: Path) -> None:
    module = tmp_path / "govflow" / "adapters" / "sample.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        '"""A docstring may say RUNNING."""\n'
        'DONE = {"COMPLETED", "SKIPPED"}\n'
        "_WHERE = \" WHERE s.status = 'RUNNING'\"\n"
        'QUERY = f"SELECT 1 FROM execution_steps s {_WHERE}"\n'
        'EVENT = "USER_CREATED"\n'
        'NOTE = "COMPLETED steps are kept"\n'
    )
    (tmp_path / "govflow" / "core").mkdir()
    (tmp_path / "govflow" / "core" / "words.py").write_text('PENDING = "PENDING"\n')
    found = spelled_out(tmp_path)
    assert list(found) == ["govflow/adapters/sample.py"]
    assert found["govflow/adapters/sample.py"] == [
        "govflow/adapters/sample.py:2: ExecutionStatus 'COMPLETED'",
        "govflow/adapters/sample.py:2: StepStatus 'SKIPPED'",
        "govflow/adapters/sample.py:5: AuditEvent 'USER_CREATED'",
        "govflow/adapters/sample.py:3: ExecutionStatus 'RUNNING' in SQL",
        "govflow/adapters/sample.py:4: ExecutionStatus 'RUNNING' in SQL",
    ]


def test_no_vocabulary_word_is_spelled_out_outside_the_core() -> None:
    found = spelled_out()
    unexpected = {module: lines for module, lines in found.items() if module not in PENDING_CLEANUP}
    assert not unexpected, "\n".join(line for lines in unexpected.values() for line in lines)
