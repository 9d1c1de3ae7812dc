"""A ``wait`` step's literal ``until`` checked against the moment of the check (validation takes
``now``; the use case behind the CLI and the loader passes the clock), and fire-timer's event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from govflow.core.engine import AttemptSucceeded
from govflow.core.spec_errors import SpecError
from govflow.core.timers import MAX_WAIT, timer_fired_event
from govflow.core.validation import validate_workflow
from govflow.usecases.workflows import SourceFile, validate_workflow_files

from .actions import TEST_ACTIONS

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def _file(until: str) -> str:
    return f"""name: hold
title: Hold
department: testing
steps:
  - id: hold
    action: wait
    with: {{until: "{until}"}}
"""


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_an_until_at_the_limit_is_accepted_one_second_more_is_not() -> None:
    validate_workflow(_file(_at(NOW + MAX_WAIT)), "w.yaml", TEST_ACTIONS, now=NOW)
    with pytest.raises(SpecError) as caught:
        validate_workflow(
            _file(_at(NOW + MAX_WAIT + timedelta(seconds=1))), "w.yaml", TEST_ACTIONS, now=NOW
        )
    [line] = caught.value.format().splitlines()
    assert line.startswith("w.yaml:7:19: steps[0].with.until: `until` '2032-01-02T03:04:06Z' is")


def test_a_passed_until_a_template_and_no_clock_are_not_checked() -> None:
    validate_workflow(_file("2001-01-01T00:00:00Z"), "w.yaml", TEST_ACTIONS, now=NOW)
    far = _file("{{ '2099-01-01T00:00:00Z' }}")
    validate_workflow(far, "w.yaml", TEST_ACTIONS, now=NOW)
    validate_workflow(_file("2099-01-01T00:00:00Z"), "w.yaml", TEST_ACTIONS)  # no `now`


def test_the_files_use_case_checks_against_the_clock_or_the_moment_given() -> None:
    text = _file(_at(NOW + timedelta(days=400)))
    file = SourceFile(path="w.yaml", text=text)
    assert validate_workflow_files([file], TEST_ACTIONS, now=NOW)[0].spec.name == "hold"
    far = SourceFile(path="w.yaml", text=_file(_at(datetime.now(UTC) + timedelta(days=731))))
    with pytest.raises(SpecError, match="more than 730d from now"):
        validate_workflow_files([far], TEST_ACTIONS)


def test_a_fired_timer_says_early_by_whom_and_when() -> None:
    due = NOW + timedelta(days=3)
    event = timer_fired_event(due, NOW, "mia@city.example.org")
    assert event == AttemptSucceeded(
        {
            "due_at": due.isoformat(),
            "waited": True,
            "fired_early": True,
            "fired_by": "mia@city.example.org",
            "fired_at": NOW.isoformat(),
        }
    )
    assert timer_fired_event(NOW, NOW, "cli").output["fired_early"] is False
