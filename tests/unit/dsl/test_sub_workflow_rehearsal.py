"""The rehearsal kit stubs a ``workflow`` step like any other action: its stub is the child's
outputs (or the failure naming the child), and the rendered ``with:`` is checked as at run
time."""

from __future__ import annotations

from govflow.plugins import BusinessError, Suspend
from govflow.testing.rehearsal import rehearse

PARENT = """
name: permit-with-fees
title: Permit with fees
department: urban-planning
inputs:
  parcel: {type: string}
steps:
  - id: fees
    action: workflow
    with: {name: fee-calculation, inputs: {parcel: "{{ inputs.parcel }}"}}
  - id: notify
    action: notification
    with: {channel: log, message: "Fee for {{ inputs.parcel }}: {{ steps.fees.output.fee }}"}
outputs:
  fee: {value: "{{ steps.fees.output.fee }}", type: number}
"""


def test_a_workflow_step_is_stubbed_with_the_childs_outputs() -> None:
    run = rehearse(PARENT, {"parcel": "P-9"}, {"fees": {"fee": 120.5}, "notify": {}})
    assert run.sequence == ["fees", "notify"]
    assert run.params["fees"] == {"name": "fee-calculation", "inputs": {"parcel": "P-9"}}
    assert run.params["notify"]["message"] == "Fee for P-9: 120.5"
    assert run.workflow_outputs == {"fee": 120.5}


def test_a_failed_child_fails_the_rehearsal_and_a_waiting_one_waits() -> None:
    failed = rehearse(
        PARENT,
        {"parcel": "P-9"},
        {"fees": BusinessError("child execution 42 failed (BUSINESS_ERROR: no parcel)")},
    )
    assert failed.status == "FAILED"
    assert failed.sequence == ["fees"]
    waiting = rehearse(PARENT, {"parcel": "P-9"}, {"fees": Suspend("sub_workflow")})
    assert waiting.status == "WAITING"
