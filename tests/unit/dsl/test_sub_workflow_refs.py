"""``workflow`` steps checked against the workflows they name: loaded together (the child's
declared inputs), and against the stored ones (unknown names, versions), each problem at its
position."""

from __future__ import annotations

import pytest

from govflow.core.spec import InputSpec
from govflow.core.spec_errors import SpecError
from govflow.core.subworkflow_refs import (
    SubWorkflowRef,
    WorkflowSignature,
    sub_workflow_references,
)
from govflow.core.yaml_source import load_yaml
from govflow.usecases.workflows import (
    SourceFile,
    unknown_sub_workflows,
    validate_workflow_files,
)

from .actions import TEST_ACTIONS

CHILD = """\
name: child
title: Child
department: testing
inputs:
  n: {type: integer}
  label: {type: string, default: x}
steps:
  - {id: work, action: echo, with: {message: "{{ inputs.label }}"}}
"""

PARENT = """\
name: parent
title: Parent
department: testing
steps:
  - id: first
    action: workflow
    with:
      name: child
      inputs: {m: 1, lable: y}
  - id: second
    action: workflow
    with: {name: child}
  - id: third
    action: workflow
    with: {name: "{{ 'chi' ~ 'ld' }}", inputs: {anything: 1}}
  - id: fourth
    action: workflow
    with: {name: elsewhere, version: 3, inputs: {n: 1}}
"""


def test_references_are_found_where_literal() -> None:
    refs = sub_workflow_references(load_yaml(PARENT, "parent.yaml").data)
    assert refs == [
        SubWorkflowRef(step="steps[0]", name="child", version=None, inputs=("m", "lable")),
        SubWorkflowRef(step="steps[1]", name="child", version=None, inputs=()),
        SubWorkflowRef(step="steps[3]", name="elsewhere", version=3, inputs=("n",)),
    ]


def test_inputs_are_checked_against_a_child_loaded_with_the_parent() -> None:
    files = [SourceFile("child.yaml", CHILD), SourceFile("parent.yaml", PARENT)]
    with pytest.raises(SpecError) as caught:
        validate_workflow_files(files, TEST_ACTIONS)
    assert caught.value.format().splitlines() == [
        "parent.yaml:9:7: steps[0].with.inputs: workflow 'child' requires the input n",
        "parent.yaml:9:16: steps[0].with.inputs.m: workflow 'child' declares no input 'm'",
        "parent.yaml:9:22: steps[0].with.inputs.lable: workflow 'child' declares no input "
        "'lable' (did you mean 'label'?)",
        "parent.yaml:12:5: steps[1].with: workflow 'child' requires the input n",
    ]


def test_a_parent_alone_is_checked_against_the_stored_workflows() -> None:
    parent = PARENT.replace("{m: 1, lable: y}", "{n: 1}").replace("{name: child}", "{name: chidl}")
    valid = validate_workflow_files([SourceFile("parent.yaml", parent)], TEST_ACTIONS)
    stored = {
        "child": WorkflowSignature(
            inputs={"n": InputSpec(type="integer")}, versions=frozenset({1})
        ),
        "elsewhere": WorkflowSignature(inputs={}, versions=frozenset({1, 2})),
    }
    problems = unknown_sub_workflows(valid, stored, every_workflow_known=True)
    assert [p.format() for p in problems] == [
        "parent.yaml:12:18: steps[1].with.name: no workflow 'chidl' (did you mean 'child'?)",
        "parent.yaml:18:38: steps[3].with.version: workflow 'elsewhere' has no version 3 "
        "(it has 1, 2)",
    ]
