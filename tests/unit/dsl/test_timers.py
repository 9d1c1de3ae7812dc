"""The rules of a ``wait`` step: ``for`` and ``until`` parsed and bounded, the due time, and
rehearsals that skip time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from govflow.core.error_codes import StepErrorCode
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.timers import (
    MAX_WAIT,
    TimerError,
    due_time,
    parse_until,
    timer_output,
)
from govflow.testing.rehearsal import rehearse

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-02T03:04:05Z", NOW),
        ("2030-01-02T04:04:05+01:00", NOW),
        ("2030-01-02T03:04:05.250+00:00", NOW + timedelta(milliseconds=250)),
        ("2030-01-01T22:04:05-05:00", NOW),
    ],
)
def test_until_reads_iso_timestamps_with_an_offset(text: str, expected: datetime) -> None:
    assert parse_until(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("next tuesday", "expects an ISO 8601 timestamp"),
        ("", "expects an ISO 8601 timestamp"),
        ("2030-01-02T03:04:05", "needs a UTC offset"),
        ("2030-01-02", "needs a UTC offset"),
        ("2030-13-02T03:04:05Z", "expects an ISO 8601 timestamp"),
        ("2030-01-02T03:04:05Z" + " " * 40, "expects an ISO 8601 timestamp"),
        (1893553445, "expects an ISO 8601 timestamp"),
        (None, "expects an ISO 8601 timestamp"),
    ],
)
def test_until_refuses_what_is_not_one_moment(text: object, message: str) -> None:
    with pytest.raises(TimerError, match=message) as caught:
        parse_until(text)
    assert caught.value.code == StepErrorCode.WAIT_INVALID


@pytest.mark.parametrize(
    ("for_", "until", "due"),
    [
        ("14d", None, NOW + timedelta(days=14)),
        ("1h30m", None, NOW + timedelta(minutes=90)),
        ("0s", None, NOW),
        ("730d", None, NOW + MAX_WAIT),
        (None, "2030-01-02T03:04:06Z", NOW + timedelta(seconds=1)),
        (None, "2020-01-01T00:00:00Z", datetime(2020, 1, 1, tzinfo=UTC)),  # past: due at once
        (None, (NOW + MAX_WAIT).isoformat(), NOW + MAX_WAIT),
    ],
)
def test_the_due_time(for_: str | None, until: str | None, due: datetime) -> None:
    assert due_time(for_, until, NOW) == due


@pytest.mark.parametrize(
    ("for_", "until", "code", "message"),
    [
        ("731d", None, StepErrorCode.WAIT_TOO_FAR, "`for` '731d' waits longer than 730d"),
        ("3 weeks", None, StepErrorCode.WAIT_INVALID, "expected a duration like 30s"),
        ("3w", None, StepErrorCode.WAIT_INVALID, "expected a duration like 30s"),
        ("-1d", None, StepErrorCode.WAIT_INVALID, "expected a duration like 30s"),
        (
            None,
            (NOW + MAX_WAIT + timedelta(seconds=1)).isoformat(),
            StepErrorCode.WAIT_TOO_FAR,
            "`until`",
        ),
        (None, "2999-01-01T00:00:00Z", StepErrorCode.WAIT_TOO_FAR, "waits longer than 730d"),
        (
            "1d",
            "2030-01-03T00:00:00Z",
            StepErrorCode.WAIT_INVALID,
            "exactly one of `for` and `until`",
        ),
        (None, None, StepErrorCode.WAIT_INVALID, "exactly one of `for` and `until`"),
    ],
)
def test_the_due_time_refuses_clearly(
    for_: str | None, until: str | None, code: str, message: str
) -> None:
    with pytest.raises(TimerError, match=message) as caught:
        due_time(for_, until, NOW)
    assert caught.value.code == code


def test_the_output_keeps_the_offset_written() -> None:
    moment = datetime(2030, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert timer_output(moment, waited=False) == {
        "due_at": "2030-01-02T04:04:05+01:00",
        "waited": False,
    }


WORKFLOW = """
name: hearing
title: Hearing
department: general-administration
inputs:
  period: {type: string, default: 14d}
  hearing_at: {type: string, default: "2030-02-01T09:00:00Z"}
steps:
  - id: objections
    action: wait
    with: {for: "{{ inputs.period }}"}
  - id: hearing
    action: wait
    with: {until: "{{ inputs.hearing_at }}"}
  - id: decide
    action: notification
    with: {channel: log, message: "decided after {{ steps.hearing.output.due_at }}"}
"""


def test_a_rehearsal_skips_time() -> None:
    run = rehearse(WORKFLOW, {}, {"decide": {}}, now=NOW)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.sequence == ["objections", "hearing", "decide"]
    assert run.due == {
        "objections": NOW + timedelta(days=14),
        "hearing": datetime(2030, 2, 1, 9, tzinfo=UTC),
    }
    assert run.outputs["hearing"] == {"due_at": "2030-02-01T09:00:00+00:00", "waited": True}
    assert run.clock == datetime(2030, 2, 1, 9, tzinfo=UTC)


def test_a_rehearsal_counts_a_later_until_from_the_skipped_time() -> None:
    # the objections end on 2030-02-16, after the hearing's time: the hearing is due at once
    run = rehearse(WORKFLOW, {"period": "45d"}, {"decide": {}}, now=NOW)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.outputs["hearing"] == {"due_at": "2030-02-01T09:00:00+00:00", "waited": False}
    assert run.clock == NOW + timedelta(days=45)


def test_a_rehearsal_may_stop_at_the_first_timer() -> None:
    run = rehearse(WORKFLOW, {}, {"decide": {}}, now=NOW, skip_waits=False)
    assert run.status is ExecutionStatus.WAITING
    assert run.steps == {"objections": StepStatus.WAITING}
    assert run.clock == NOW


def test_a_stub_still_decides_a_wait_step() -> None:
    stubs = {"objections": "skip", "hearing": {"due_at": "then"}, "decide": {}}
    run = rehearse(WORKFLOW, {}, stubs, now=NOW)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.skipped == ["objections"]
    assert run.params["decide"]["message"] == "decided after then"
    assert run.due == {}
    assert run.clock == NOW


def test_a_rehearsed_timer_too_far_fails_as_at_run_time() -> None:
    run = rehearse(WORKFLOW, {"hearing_at": "2040-01-01T00:00:00Z"}, {"decide": {}}, now=NOW)
    assert run.status is ExecutionStatus.FAILED
    assert run.failure is not None
    assert run.failure["step"] == "hearing"
    assert run.failure["error"]["code"] == "BUSINESS_ERROR"
    assert "waits longer than 730d" in run.failure["error"]["message"]
