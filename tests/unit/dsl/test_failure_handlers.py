"""Failure handlers in the DSL: the steps an execution gets for ``compensate`` and
``on_failure``, what their templates may read, and rehearsals that run them."""

from __future__ import annotations

import pytest

from govflow.core.spec import (
    OUTPUTS_STEP_ID,
    WorkflowSpec,
    handlers_from,
    is_handler_key,
    is_last_step,
    main_step_count,
    step_at,
    step_count,
)
from govflow.core.spec_errors import SpecError
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.validation import validate_workflow
from govflow.plugins import BusinessError, Suspend, TechnicalError
from govflow.testing.rehearsal import RehearsalError, rehearse

from .actions import TEST_ACTIONS

WORKFLOW = """
name: hall-booking
title: Hall booking
department: testing
inputs:
  hall: {type: string}
steps:
  - id: hold
    action: echo
    with: {message: "hold {{ inputs.hall }}"}
    compensate:
      action: echo
      with: {message: "release {{ steps.hold.output.message }} after {{ failure.step }}"}
  - id: invoice
    action: echo
    with: {message: "invoice {{ inputs.hall }}"}
  - id: deposit
    action: echo
    with: {message: "deposit for {{ inputs.hall }}"}
    compensate: {action: echo, with: {message: "refund {{ steps.deposit.output.message }}"}}
  - id: confirm
    action: echo
    with: {message: "confirm {{ inputs.hall }}"}
outputs:
  hall: {value: "{{ inputs.hall }}"}
on_failure:
  - id: tell
    action: echo
    with: {message: "{{ failure.step }}: {{ failure.error.code }} {{ failure.error.message }}"}
  - id: log
    action: echo
    if: "failure.error.code == 'BUSINESS_ERROR'"
    with: {message: "business"}
"""


def spec() -> WorkflowSpec:
    return validate_workflow(WORKFLOW, "hall.yaml", TEST_ACTIONS)


def test_an_execution_has_the_handlers_after_its_steps_and_outputs() -> None:
    workflow = spec()
    keys = [step_at(workflow, p).id for p in range(step_count(workflow))]
    assert keys == [
        "hold",
        "invoice",
        "deposit",
        "confirm",
        OUTPUTS_STEP_ID,
        "compensate.deposit",
        "compensate.hold",
        "on_failure.tell",
        "on_failure.log",
    ]
    assert main_step_count(workflow) == 5
    assert handlers_from(workflow) == 5
    assert [is_handler_key(key) for key in keys] == [False] * 5 + [True] * 4
    last = [p for p in range(step_count(workflow)) if is_last_step(workflow, p)]
    assert last == [4, 8]  # the outputs step when nothing fails, the last handler
    with pytest.raises(IndexError):
        step_at(workflow, 9)


def test_a_compensation_runs_only_when_its_step_completed() -> None:
    undo = step_at(spec(), 6)
    assert undo.action == "echo"
    assert undo.if_ == "steps.hold.status == 'COMPLETED'"
    assert undo.with_ == {
        "message": "release {{ steps.hold.output.message }} after {{ failure.step }}"
    }


def test_a_workflow_without_handlers_has_none() -> None:
    plain = validate_workflow(
        """
name: plain
title: Plain
department: testing
steps:
  - {id: one, action: echo, with: {message: one}}
""",
        "plain.yaml",
        TEST_ACTIONS,
    )
    assert handlers_from(plain) is None
    assert step_count(plain) == main_step_count(plain) == 1
    assert is_last_step(plain, 0)


@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("outputs:\n  x: {value: '{{ failure.step }}'}", "outputs.x.value: 'failure' is read only"),
        ("vars:\n  x: '{{ failure.step }}'", "vars.x: a variable may read only inputs"),
    ],
)
def test_failure_is_read_by_handlers_only(where: str, problem: str) -> None:
    text = """
name: plain
title: Plain
department: testing
steps:
  - {id: one, action: echo, with: {message: one}}
"""
    with pytest.raises(SpecError) as caught:
        validate_workflow(text + where + "\n", "plain.yaml", TEST_ACTIONS)
    assert problem in caught.value.format()


def test_a_rehearsal_compensates_the_completed_steps_in_reverse_then_runs_on_failure() -> None:
    results = {
        "hold": {"message": "hall A"},
        "invoice": {"id": 7},
        "deposit": {"message": "50 EUR"},
        "confirm": BusinessError("the hall is closed that day"),
        "compensate.deposit": {"refunded": True},
        "compensate.hold": {"released": True},
        "on_failure.tell": {"told": True},
        "on_failure.log": {"logged": True},
    }
    run = rehearse(WORKFLOW, {"hall": "A"}, results, actions=TEST_ACTIONS)
    assert run.status is ExecutionStatus.FAILED
    assert run.error == "step 'confirm': BusinessError: the hall is closed that day"
    assert run.sequence == ["hold", "invoice", "deposit", "confirm"]
    assert run.handlers == [
        "compensate.deposit",
        "compensate.hold",
        "on_failure.tell",
        "on_failure.log",
    ]
    assert run.failure == {
        "step": "confirm",
        "error": {
            "code": "BUSINESS_ERROR",
            "message": "BusinessError: the hall is closed that day",
        },
    }
    assert run.params["compensate.hold"] == {"message": "release hall A after confirm"}
    assert run.params["compensate.deposit"] == {"message": "refund 50 EUR"}
    assert run.params["on_failure.tell"] == {
        "message": "confirm: BUSINESS_ERROR BusinessError: the hall is closed that day"
    }
    assert run.steps["compensate.hold"] is StepStatus.COMPLETED


def test_a_rehearsal_compensates_only_what_completed_and_records_a_failing_handler() -> None:
    results = {
        "hold": {"message": "hall B"},
        "invoice": TechnicalError("the invoicing service is down"),
        "compensate.hold": BusinessError("already released"),
        "on_failure.tell": Suspend({}),
    }
    run = rehearse(WORKFLOW, {"hall": "B"}, results, actions=TEST_ACTIONS)
    assert run.status is ExecutionStatus.FAILED
    assert run.failure is not None
    assert run.failure["error"]["code"] == "TECHNICAL_ERROR"
    assert run.steps["compensate.deposit"] is StepStatus.SKIPPED  # deposit never ran
    assert run.handlers == ["compensate.hold", "on_failure.tell"]
    assert run.handler_errors == {
        "compensate.hold": "BusinessError: already released",
        "on_failure.tell": "HANDLER_CANNOT_WAIT",
    }
    assert run.steps["on_failure.log"] is StepStatus.SKIPPED  # not a business error


def test_a_rehearsal_without_a_failure_runs_no_handler() -> None:
    results = {name: {"message": name} for name in ("hold", "invoice", "deposit", "confirm")}
    run = rehearse(WORKFLOW, {"hall": "C"}, results, actions=TEST_ACTIONS)
    assert run.status is ExecutionStatus.COMPLETED
    assert run.handlers == []
    assert run.failure is None


def test_a_handler_that_runs_needs_a_stub() -> None:
    results = {"hold": {"message": "hall D"}, "invoice": BusinessError("no")}
    with pytest.raises(RehearsalError, match=r"compensate\.hold"):
        rehearse(WORKFLOW, {"hall": "D"}, results, actions=TEST_ACTIONS)


GRAPH_SAGA = """
name: works-permit
title: Works permit
department: testing
steps:
  - id: book_crew
    action: echo
    needs: [reserve_site]
    with: {message: "crew"}
    compensate:
      action: echo
      with: {message: "cancel the crew"}
  - id: reserve_site
    action: echo
    needs: []
    with: {message: "site"}
    compensate:
      action: echo
      with: {message: "free the site"}
  - id: order_signs
    action: echo
    needs: []
    with: {message: "signs"}
    compensate:
      action: echo
      with: {message: "return the signs"}
  - id: publish
    action: echo
    needs: [book_crew, order_signs]
    with: {message: "publish"}
"""


def test_a_graph_undoes_a_step_before_every_step_it_needed_whatever_the_file_order() -> None:
    workflow = validate_workflow(GRAPH_SAGA, "works.yaml", TEST_ACTIONS)
    handlers = [
        step_at(workflow, p).id for p in range(main_step_count(workflow), step_count(workflow))
    ]
    # book_crew needs reserve_site (written after it): the crew is cancelled before the site
    # is freed; order_signs, on a branch of its own, is undone first (the last to run).
    assert handlers == [
        "compensate.order_signs",
        "compensate.book_crew",
        "compensate.reserve_site",
    ]


def test_a_rehearsal_of_a_graph_compensates_in_that_order() -> None:
    results = {
        "reserve_site": {"message": "site"},
        "book_crew": {"message": "crew"},
        "order_signs": {"message": "signs"},
        "publish": BusinessError("the permit was withdrawn"),
        "compensate.order_signs": {},
        "compensate.book_crew": {},
        "compensate.reserve_site": {},
    }
    run = rehearse(GRAPH_SAGA, {}, results, actions=TEST_ACTIONS)
    assert run.status is ExecutionStatus.FAILED
    assert run.handlers == [
        "compensate.order_signs",
        "compensate.book_crew",
        "compensate.reserve_site",
    ]
