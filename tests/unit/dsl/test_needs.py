"""``needs:``: what a graph of steps means, and what validation accepts of it (the mistakes are
in the corpus, with their exact reports)."""

from __future__ import annotations

import pytest

from govflow.core.graph import graph_problems, runnable, step_graph
from govflow.core.spec_errors import SpecError
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.core.validation import validate_workflow
from govflow.plugins import BusinessError
from govflow.testing.rehearsal import rehearse

from .actions import TEST_ACTIONS

HEAD = """
name: graph-case
title: Graph case
department: testing
"""

DIAMOND = (
    HEAD
    + """
steps:
  - id: intake
    action: echo
    with: {message: "in"}
  - id: legal
    action: echo
    needs: [intake]
    with: {message: "{{ steps.intake.output.text }}"}
  - id: fire
    action: echo
    needs: [intake]
    with: {message: "{{ steps.intake.output.text }}"}
  - id: decide
    action: echo
    needs: [legal, fire]
    with: {message: "{{ steps.legal.output.text }} {{ steps.fire.output.text }}"}
  - id: notify
    action: echo
    if: "steps.intake.status == 'COMPLETED'"
    with: {message: "{{ steps.decide.output.text }}"}
"""
)


def test_a_diamond_is_a_graph_and_a_step_without_needs_follows_the_one_before() -> None:
    spec = validate_workflow(DIAMOND, "diamond.yaml", TEST_ACTIONS)
    graph = step_graph(spec)
    assert graph.needs == ((), (0,), (0,), (1, 2), (3,))
    assert graph.dependents == ((1, 2), (3,), (3,), (4,), ())
    assert graph.ends == (4,)
    assert not graph.linear


def test_a_list_is_linear_and_needs_spelled_out_keep_it_a_list() -> None:
    listed = (
        HEAD
        + "steps:\n"
        + "".join(f"  - id: s{i}\n    action: echo\n    with: {{message: x}}\n" for i in range(3))
    )
    assert step_graph(validate_workflow(listed, "list.yaml", TEST_ACTIONS)).linear
    spelled = listed.replace("  - id: s1\n", "  - id: s1\n    needs: [s0]\n")
    assert step_graph(validate_workflow(spelled, "list.yaml", TEST_ACTIONS)).linear


def test_a_step_may_need_a_step_written_after_it() -> None:
    text = (
        HEAD
        + """
steps:
  - id: report
    action: echo
    needs: [gather]
    with: {message: "{{ steps.gather.output.text }}"}
  - id: gather
    action: echo
    needs: []
    with: {message: "facts"}
"""
    )
    graph = step_graph(validate_workflow(text, "later.yaml", TEST_ACTIONS))
    assert graph.needs == ((1,), ())
    assert graph.roots == (1,)
    assert graph.ends == (0,)


def test_outputs_join_the_ends_of_a_graph() -> None:
    text = (
        HEAD
        + """
steps:
  - id: intake
    action: echo
    with: {message: "in"}
  - id: legal
    action: echo
    needs: [intake]
    with: {message: "legal"}
  - id: fire
    action: echo
    needs: [intake]
    with: {message: "fire"}
outputs:
  both: {value: "{{ steps.legal.output.text }} {{ steps.fire.output.text }}"}
"""
    )
    graph = step_graph(validate_workflow(text, "outputs.yaml", TEST_ACTIONS))
    assert graph.needs == ((), (0,), (0,), (1, 2))
    assert graph.ends == (3,)


def test_several_ends_without_outputs_are_refused() -> None:
    text = DIAMOND.replace("    needs: [legal, fire]\n", "    needs: [legal]\n")
    with pytest.raises(SpecError) as caught:
        validate_workflow(text, "ends.yaml", TEST_ACTIONS)
    assert "the graph ends in more than one step ('fire', 'notify')" in caught.value.format()


def test_a_file_without_needs_has_no_graph_problems() -> None:
    assert graph_problems([{"id": "a"}, {"id": "b"}]) == []
    assert graph_problems(["not a step", {"id": "b", "needs": [3, "a"]}]) == [
        ("steps[1].needs[1]", "unknown step 'a'")
    ]


def test_a_rehearsal_runs_a_graph_in_one_order_each_step_after_its_needs() -> None:
    results = {key: {"text": key} for key in ("intake", "legal", "fire", "decide", "notify")}
    first = rehearse(DIAMOND, {}, results, actions=TEST_ACTIONS)
    assert first.status is ExecutionStatus.COMPLETED
    assert first.sequence == ["intake", "legal", "fire", "decide", "notify"]
    assert first.params["decide"] == {"message": "legal fire"}
    swapped = DIAMOND.replace("needs: [legal, fire]", "needs: [fire, legal]")
    assert rehearse(swapped, {}, results, actions=TEST_ACTIONS).sequence == first.sequence
    later = (
        HEAD
        + """
steps:
  - {id: report, action: echo, needs: [gather, check], with: {message: r}}
  - {id: check, action: echo, needs: [gather], with: {message: c}}
  - {id: gather, action: echo, needs: [], with: {message: g}}
"""
    )
    stubs = {key: {} for key in ("report", "check", "gather")}
    run = rehearse(later, {}, stubs, actions=TEST_ACTIONS)
    assert run.sequence == ["gather", "check", "report"]


def test_a_rehearsed_failed_branch_stops_the_graph() -> None:
    results = {"intake": {"text": "in"}, "legal": BusinessError("refused"), "fire": {}}
    run = rehearse(DIAMOND, {}, results, actions=TEST_ACTIONS)
    assert run.status is ExecutionStatus.FAILED
    assert run.sequence == ["intake", "legal"]


def step(step_id: str, needs: list[str] | None = None) -> dict[str, object]:
    found: dict[str, object] = {"id": step_id, "action": "echo"}
    if needs is not None:
        found["needs"] = needs
    return found


def test_each_of_two_cycles_is_reported_and_a_step_after_them() -> None:
    steps = [
        step("a", ["b"]),
        step("b", ["a"]),
        step("c", ["d"]),
        step("d", ["c"]),
        step("e", ["b", "d"]),
    ]
    assert graph_problems(steps, outputs=True) == [
        (
            "steps[0].needs[0]",
            "the steps 'a' -> 'b' -> 'a' need each other in a cycle: none can run",
        ),
        (
            "steps[2].needs[0]",
            "the steps 'c' -> 'd' -> 'c' need each other in a cycle: none can run",
        ),
        ("steps[4].id", "step 'e' can never run: it waits for step 'd', which is on a cycle"),
    ]


def test_a_step_waiting_on_a_cycle_through_another_step_is_reported_too() -> None:
    steps = [
        step("a", ["c"]),
        step("b", ["a"]),
        step("c", ["b"]),
        step("d", ["a"]),
        step("e", ["d"]),
    ]
    assert graph_problems(steps, outputs=True) == [
        (
            "steps[0].needs[0]",
            "the steps 'a' -> 'c' -> 'b' -> 'a' need each other in a cycle: none can run",
        ),
        ("steps[3].id", "step 'd' can never run: it waits for step 'a', which is on a cycle"),
        ("steps[4].id", "step 'e' can never run: it waits for step 'a', which is on a cycle"),
    ]


def test_a_file_where_every_step_says_needs_is_checked() -> None:
    assert graph_problems([step("a", []), step("b", ["x"]), step("c", ["b"])]) == [
        ("steps[1].needs[0]", "unknown step 'x'")
    ]


def test_an_unknown_need_is_never_matched_to_the_step_itself() -> None:
    assert graph_problems([step("fire", ["fires"])]) == [
        ("steps[0].needs[0]", "unknown step 'fires'")
    ]
    assert graph_problems([step("fire", []), step("legal", ["fires"])]) == [
        ("steps[1].needs[0]", "unknown step 'fires' (did you mean 'fire'?)")
    ]


def test_several_ends_are_refused_unless_outputs_are_said_to_join_them() -> None:
    steps = [step("a", []), step("b", ["a"]), step("c", ["a"])]
    two_ends = (
        "the graph ends in more than one step ('b', 'c'): add a last step that needs them, so "
        "that the execution completes when it does"
    )
    assert graph_problems(steps) == [("steps[2].id", two_ends)]
    assert graph_problems(steps, outputs=True) == []


@pytest.mark.parametrize(
    ("status", "needs_left", "counted"),
    [
        (StepStatus.RUNNING, 0, True),
        (StepStatus.PENDING, 0, True),
        (StepStatus.PENDING, 1, False),
        (StepStatus.WAITING, 0, False),
        (StepStatus.NEEDS_ATTENTION, 0, False),
        (StepStatus.COMPLETED, 0, False),
        (StepStatus.CANCELED, 0, False),
    ],
)
def test_the_steps_a_graph_counts_as_runnable(
    status: StepStatus, needs_left: int, counted: bool
) -> None:
    assert runnable(status, needs_left) is counted
