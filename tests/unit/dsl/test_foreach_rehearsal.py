"""The rehearsal kit runs a ``foreach`` step's items one after another, each stubbed under its
key or the step's, and fails the step as at run time (a bad list, an item's error, a wait)."""

from __future__ import annotations

from typing import Any

from govflow.plugins import BusinessError, Suspend, TechnicalError
from govflow.testing.rehearsal import rehearse

SURVEY = """
name: parcel-survey
title: Parcel survey
department: urban-planning
inputs:
  parcels: {type: array}
steps:
  - id: consult
    action: notification
    foreach: "{{ inputs.parcels }}"
    max_parallel: 4
    with: {channel: log, message: "{{ index }}: {{ item }}"}
  - id: report
    action: notification
    with:
      channel: log
      message: "{{ steps.consult.output['items'] | map(attribute='n') | join(',') }}"
"""


def survey(parcels: Any, results: dict[str, Any]) -> Any:
    return rehearse(SURVEY, {"parcels": parcels}, {"report": {}, **results})


def test_each_item_is_rendered_and_stubbed_in_order() -> None:
    run = survey(["12-A", "12-B", "14"], {"consult": {"n": 0}, "consult[1]": {"n": 1}})
    assert run.status == "COMPLETED"
    assert run.sequence == ["consult", "report"]
    assert [run.params[f"consult[{i}]"]["message"] for i in range(3)] == [
        "0: 12-A",
        "1: 12-B",
        "2: 14",
    ]
    assert run.outputs["consult"] == {"items": [{"n": 0}, {"n": 1}, {"n": 0}]}
    assert run.params["report"]["message"] == "0,1,0"


def test_an_items_business_error_fails_the_step_naming_it() -> None:
    run = survey(["a", "b"], {"consult": {"n": 0}, "consult[1]": BusinessError("no such parcel")})
    assert run.status == "FAILED"
    assert run.failure == {
        "step": "consult",
        "error": {
            "code": "FOREACH_ITEM_FAILED",
            "message": "item 1 failed: BUSINESS_ERROR: no such parcel",
        },
    }


def test_a_wait_a_technical_error_and_a_bad_list_fail_the_step() -> None:
    waits = survey(["a"], {"consult": Suspend("human_task", {})})
    assert waits.failure is not None
    assert waits.failure["error"]["message"] == (
        "item 0 failed: FOREACH_CANNOT_WAIT: an item of a foreach step cannot wait"
    )
    broken = survey(["a"], {"consult": TechnicalError("register down")})
    assert broken.failure is not None
    assert broken.failure["error"] == {
        "code": "TECHNICAL_ERROR",
        "message": "item 0: TechnicalError: register down",
    }
    not_a_list = rehearse(
        SURVEY.replace("{{ inputs.parcels }}", "{{ inputs.parcels[0] }}"),
        {"parcels": [{"a": 1}]},
        {"consult": {}},
    )
    assert not_a_list.failure is not None
    assert not_a_list.failure["error"] == {
        "code": "FOREACH_NOT_A_LIST",
        "message": "foreach must give a list, it gave dict",
    }
