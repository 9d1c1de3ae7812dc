"""Content hashes and the generated JSON Schema."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from govflow.core.schema import generate_schema
from govflow.core.validation import validate_workflow
from govflow.core.versioning import content_hash, meaning, normalise

from .actions import TEST_ACTIONS

A = """
name: same  # comment
title: Same
department: testing
steps:
  - id: a
    action: echo
    with: {message: hi}
"""
B = """
department: testing
steps: [{with: {message: "hi", count: 1}, action: echo, id: a}]
title: 'Same'
name: same
defaults: {timeout: 5m}
"""
PINNED_HASH_OF_A = "900fc43b888e49059a2436ea9d5a9bb990f3e3a445c4a4a069daa2d66ab69ea0"


def test_equal_content_hashes_equal() -> None:
    first = validate_workflow(A, "a.yaml", TEST_ACTIONS)
    second = validate_workflow(B.replace(", count: 1", ""), "b.yaml", TEST_ACTIONS)
    assert content_hash(first) == content_hash(second)
    assert len(content_hash(first)) == 64
    assert list(normalise(first)) == sorted(normalise(first))


def test_changed_content_hashes_differ() -> None:
    first = validate_workflow(A, "a.yaml", TEST_ACTIONS)
    changed = validate_workflow(A.replace("hi", "ho"), "a.yaml", TEST_ACTIONS)
    assert content_hash(first) != content_hash(changed)


def test_schema_accepts_valid_and_rejects_wrong_with() -> None:
    schema = generate_schema(TEST_ACTIONS)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(A))) == []
    templated = yaml.safe_load(A.replace("{message: hi}", '{message: hi, count: "{{ inputs.n }}"}'))
    assert list(validator.iter_errors(templated)) == []
    wrong = yaml.safe_load(A.replace("{message: hi}", "{count: many}"))
    assert list(validator.iter_errors(wrong))
    unknown = yaml.safe_load(A.replace("action: echo", "action: nope"))
    assert list(validator.iter_errors(unknown))


def test_schema_nested_action_struct() -> None:
    schema = generate_schema(TEST_ACTIONS)
    validator = jsonschema.Draft202012Validator(schema)
    doc = yaml.safe_load(
        A.replace("action: echo", "action: assign").replace(
            "{message: hi}", "{title: t, assignee: {role: x, team: y}}"
        )
    )
    assert list(validator.iter_errors(doc))


def test_the_hash_reads_only_what_the_file_means_beyond_the_defaults() -> None:
    spec = validate_workflow(A, "a.yaml", TEST_ACTIONS)
    meant = meaning(spec)
    assert set(meant) == {"name", "title", "department", "steps"}
    assert meant["steps"] == [{"id": "a", "action": "echo", "with": {"message": "hi"}}]


def test_an_unchanged_workflow_keeps_its_hash_across_releases() -> None:
    # A new optional DSL key (at its default) must not give every stored workflow a new
    # version: this hash changes only when the meaning of this file changes.
    spec = validate_workflow(A, "a.yaml", TEST_ACTIONS)
    assert content_hash(spec) == PINNED_HASH_OF_A


@pytest.mark.parametrize(
    "change",
    [
        "timeout: 1h\n",  # a field with a plain default, after others at theirs
        "vars: {region: north}\n",  # a field with a default factory, after others at theirs
        "description: Booked halls\n",
    ],
)
def test_a_field_set_away_from_its_default_changes_the_hash(change: str) -> None:
    first = validate_workflow(A, "a.yaml", TEST_ACTIONS)
    changed = validate_workflow(A + change, "a.yaml", TEST_ACTIONS)
    assert content_hash(changed) != content_hash(first)
    key = change.split(":", 1)[0]
    assert key in meaning(changed)
