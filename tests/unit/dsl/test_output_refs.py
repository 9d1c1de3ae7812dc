"""References to step outputs checked against the outputs the actions declare
(govflow/core/output_refs.py): in with:, if:, outputs:, failure handlers; into nested Structs,
list items, a foreach step's items, a manual step's form and a child workflow's outputs."""

from __future__ import annotations

import msgspec
import pytest

from govflow.core.action_types import ActionTypes
from govflow.core.spec_errors import SpecError
from govflow.core.validation import validate_workflow
from govflow.plugins import PluginManager
from govflow.usecases.workflows import SourceFile, validate_workflow_files
from tests.support.doc_examples import ROOT, blocks

from .actions import TEST_ACTIONS


class Assignee(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    role: str | None = None


class AssignOutput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    task_id: str
    assignee: Assignee
    tags: list[Assignee]


TYPES = ActionTypes(TEST_ACTIONS, {**TEST_ACTIONS.outputs, "assign": AssignOutput})


def problems(text: str, types: ActionTypes = TYPES) -> list[str]:
    with pytest.raises(SpecError) as caught:
        validate_workflow(text, "w.yaml", types)
    return caught.value.format().splitlines()


HEAD = """\
name: shapes
title: Shapes
department: testing
inputs:
  parcels: {type: array}
  key: {type: string}
steps:
  - id: review
    action: manual
    with:
      title: Review
      assignee: {role: OPERATOR}
      form: {amount: {type: number}, reason: {type: text}}
  - id: tasks
    action: assign
    foreach: "{{ inputs.parcels }}"
    with: {title: "{{ item }}", assignee: {role: clerk}}
"""


def test_reads_of_declared_fields_pass_and_what_cannot_be_told_is_not_checked() -> None:
    text = (
        HEAD
        + """\
  - id: fine
    action: echo
    if: steps.review.output.decision == 'approved' and steps.review.status == 'COMPLETED'
    with:
      message: >-
        {{ steps.review.output.form.amount }} {{ steps.review.output.approved_by[0] }}
        {{ steps.review.output.comments | join }} {{ steps.review.output.get('decison') }}
        {{ steps.review.output[inputs.key].anything }} {{ steps.tasks.output['items'] | length }}
        {{ steps.tasks.output['items'][0].assignee.role }} {{ steps.tasks.output.items()  }}
        {{ steps.tasks.output['items'][0].tags[2].role }} {{ steps.tasks.output['items'][0]
        .tags[inputs.key].anything }}
  - id: unchecked
    action: echo
    with: {message: "{{ steps.fine.output.anything.at.all }}"}
"""
    )
    assert validate_workflow(text, "w.yaml", TYPES).name == "shapes"


def test_a_missing_field_is_reported_where_it_is_read_with_a_suggestion() -> None:
    text = (
        HEAD
        + """\
  - id: wrong
    action: echo
    if: steps.review.output.decison == 'approved'
    with:
      message: "{{ steps.review.output.form.amout }} {{ steps.tasks.output.item }}"
      count: "{{ steps.tasks.output['items'][1].assignee.rol }} {{ steps.review.outptu }}"
outputs:
  decided: {value: "{{ steps.review.output.decided_by }}"}
  tags: {value: "{{ steps.tasks.output['items'][0].tags[0].name }}"}
on_failure:
  - id: tell
    action: echo
    with: {message: "{{ steps.review.output.comment }} {{ failure.step }}"}
"""
    )
    manual = "action 'manual' outputs decision, form, submitted_by, approved_by, comments"
    assert problems(text) == [
        "w.yaml:20:9: steps[2].if: steps.review.output.decison: no such field "
        f"(did you mean 'decision'?) ({manual})",
        "w.yaml:22:16: steps[2].with.message: steps.review.output.form.amout: no such field "
        "(did you mean 'amount'?) (the step's with.form declares amount, reason)",
        "w.yaml:22:16: steps[2].with.message: steps.tasks.output.item: a foreach step's output "
        "holds only 'items' (the items' outputs, in order)",
        "w.yaml:23:14: steps[2].with.count: steps.review.outptu: a step holds only 'output' "
        "and 'status' (did you mean 'output'?)",
        "w.yaml:23:14: steps[2].with.count: steps.tasks.output.items[1].assignee.rol: no such "
        "field (did you mean 'role'?) (action 'assign' outputs role)",
        f"w.yaml:25:20: outputs.decided.value: steps.review.output.decided_by: no such field "
        f"({manual})",
        "w.yaml:26:17: outputs.tags.value: steps.tasks.output.items[0].tags[0].name: no such "
        "field (action 'assign' outputs role)",
        "w.yaml:30:21: on_failure[0].with.message: steps.review.output.comment: no such field "
        f"(did you mean 'comments'?) ({manual})",
    ]


def test_compensations_and_graph_steps_are_checked_too() -> None:
    text = """\
name: graph
title: Graph
department: testing
steps:
  - id: hold
    action: wait
    with: {for: 1h}
    compensate: {action: echo, with: {message: "{{ steps.hold.output.due }}"}}
  - id: a
    needs: [hold]
    action: echo
    with: {message: "{{ steps.hold.output.waited }}"}
  - id: b
    needs: [hold]
    action: echo
    with: {message: "{{ steps.hold.output.wated }}"}
  - {id: c, needs: [a, b], action: echo, with: {message: "{{ steps.a.output.anything }}"}}
"""
    wait = "action 'wait' outputs due_at, waited"
    assert problems(text) == [
        "w.yaml:8:48: steps[0].compensate.with.message: steps.hold.output.due: no such field "
        f"(did you mean 'due_at'?) ({wait})",
        "w.yaml:16:21: steps[2].with.message: steps.hold.output.wated: no such field "
        f"(did you mean 'waited'?) ({wait})",
    ]


def test_a_form_the_file_does_not_declare_and_plain_mappings_are_not_checked() -> None:
    text = (
        HEAD.replace("{amount: {type: number}, reason: {type: text}}", "null")
        + """\
  - id: fine
    action: echo
    with: {message: "{{ steps.review.output.form.anything }}"}
"""
    )
    assert validate_workflow(text, "w.yaml", TYPES).name == "shapes"
    wrong = text.replace("form.anything", "decison")
    assert len(problems(wrong)) == 1
    assert validate_workflow(wrong, "w.yaml", dict(TYPES)).name == "shapes"  # nothing declared


CHILD = """\
name: child
title: Child
department: testing
steps:
  - {id: work, action: echo, with: {message: hi}}
outputs:
  total: {value: 3, type: integer}
  label: {value: x}
"""

PARENT = """\
name: parent
title: Parent
department: testing
steps:
  - {id: run, action: workflow, with: {name: child}}
  - {id: pinned, action: workflow, with: {name: child, version: 1}}
  - {id: other, action: workflow, with: {name: elsewhere}}
  - id: after
    action: echo
    with:
      message: >-
        {{ steps.run.output.total }} {{ steps.run.output.totl }}
        {{ steps.pinned.output.anything }} {{ steps.other.output.anything }}
"""


def test_a_child_workflow_loaded_with_the_parent_gives_its_outputs() -> None:
    files = [SourceFile("child.yaml", CHILD), SourceFile("parent.yaml", PARENT)]
    with pytest.raises(SpecError) as caught:
        validate_workflow_files(files, TYPES)
    assert caught.value.format().splitlines() == [
        "parent.yaml:11:16: steps[3].with.message: steps.run.output.totl: no such field "
        "(did you mean 'total'?) (workflow 'child' outputs label, total)",
    ]
    alone = validate_workflow_files([SourceFile("parent.yaml", PARENT)], TYPES)
    assert [valid.spec.name for valid in alone] == ["parent"]  # the child unknown: unchecked


def test_the_documented_refused_example_reports_what_the_docs_show() -> None:
    found = list(blocks(ROOT / "docs" / "dsl.md"))
    (index,) = [i for i, b in enumerate(found) if b.lang == "yaml" and "decison" in b.text]
    refused, shown = found[index], found[index + 1]
    assert refused.marker == "refused"
    types = PluginManager.from_env({}).actions().inputs()
    with pytest.raises(SpecError) as caught:
        validate_workflow(refused.text, "dsl.md", types)
    assert caught.value.format().splitlines() == shown.text.splitlines()
