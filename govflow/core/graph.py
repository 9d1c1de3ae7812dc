"""The order a workflow's steps run in: a list, or a graph when a step says ``needs``.

What a step needs (by position in the execution):

- a step that says ``needs: [a, b]`` needs the steps ``a`` and ``b`` (``needs: []``: none, it
  starts with the execution);
- a step that says nothing needs the step just before it in the file (the first step: none),
  today's sequential meaning, also inside a graph;
- the step that computes ``outputs:`` (when the workflow declares some) needs every step no other
  step needs: the ends of the graph (in a list, the last step).

A step runs once every step it needs is *settled*: ``COMPLETED``, ``SKIPPED`` (its ``if:`` was
false, or an operator skipped it), or ``FAILED`` with ``continue_on_error``. A skipped step
therefore does not skip its dependents: they run when their needs are settled, and their own
``if:`` may read ``steps.X.status``.

A workflow is *linear* when each step needs exactly the one before it: every workflow without
``needs``. Linear executions keep the hot path (the worker that finishes step *k* claims step
*k+1* in the same statement); a graph's finish releases each dependent whose needs are all
settled (:func:`join_released`), counted on the dependent's row so that two branches finishing at
once release a join exactly once.

While one branch waits (a human task, a signal, a child execution) the others run: the execution
counts its runnable or running steps (:func:`runnable`) and is ``WAITING`` only while that count
is 0 and a step waits (:func:`govflow.core.engine.decide_branches`).

A graph ends in one step (the one every other step leads to): its finish completes the
execution. :func:`graph_problems` refuses a graph with several ends (unless ``outputs:`` joins
them), unknown, repeated or self needs, cycles, and steps that wait on a cycle (unreachable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from govflow.core.spec import WorkflowSpec, step_needs
from govflow.core.statuses import StepStatus
from govflow.core.struct_check import suggest
from govflow.core.topology import dependency_order
from govflow.core.yaml_source import child_path


@dataclass(frozen=True)
class StepGraph:
    """The needs of each step of an execution (by position) and the steps that need it."""

    needs: tuple[tuple[int, ...], ...]
    dependents: tuple[tuple[int, ...], ...]

    @cached_property
    def linear(self) -> bool:
        """Each step needs exactly the step before it: the list of a workflow without ``needs``."""
        return all(
            needs == ((position - 1,) if position else ())
            for position, needs in enumerate(self.needs)
        )

    @property
    def roots(self) -> tuple[int, ...]:
        """The steps that start with the execution (they need none)."""
        return tuple(p for p, needs in enumerate(self.needs) if not needs)

    @property
    def ends(self) -> tuple[int, ...]:
        """The steps no step needs."""
        return tuple(p for p, dependents in enumerate(self.dependents) if not dependents)

    def ancestors(self, position: int) -> frozenset[int]:
        """Every step ``position`` waits for, directly or through others."""
        seen: set[int] = set()
        stack = list(self.needs[position])
        while stack:
            need = stack.pop()
            if need not in seen:
                seen.add(need)
                stack.extend(self.needs[need])
        return frozenset(seen)


def graph_of(needs: Sequence[Sequence[int]]) -> StepGraph:
    """The graph of these needs (by position)."""
    dependents: list[list[int]] = [[] for _ in needs]
    for position, wanted in enumerate(needs):
        for need in wanted:
            dependents[need].append(position)
    return StepGraph(
        needs=tuple(tuple(wanted) for wanted in needs),
        dependents=tuple(tuple(found) for found in dependents),
    )


def step_graph(spec: WorkflowSpec) -> StepGraph:
    """The graph of a valid workflow's steps and its outputs step (positions past them, such
    as failure handlers, are not part of it)."""
    needs = step_needs(spec)
    if spec.outputs:  # the outputs step (after the steps) joins the ends
        needed = {need for wanted in needs for need in wanted}
        needs.append(tuple(p for p in range(len(spec.steps)) if p not in needed))
    return graph_of(needs)


def runnable(status: StepStatus, needs_left: int) -> bool:
    """Whether a step of a graph counts as runnable or running on its execution
    (``executions.runnable_steps``): ``RUNNING``, or ``PENDING`` with every need settled (due
    now, or again after a retry). A graph's execution waits when none is and one of its steps
    waits (:func:`govflow.core.engine.decide_branches`)."""
    return status is StepStatus.RUNNING or (status is StepStatus.PENDING and needs_left == 0)


def join_released(needs_left: int) -> bool:
    """Whether a step with ``needs_left`` unsettled needs is released when one of them settles:
    it is the last one. The finish statement counts the step's ``needs_left`` down under its
    row lock, so of two needs settling at once exactly one sees 1 and releases it."""
    if needs_left < 1:
        raise ValueError(f"a step waiting for a need has at least one left, got {needs_left}")
    return needs_left == 1


# Validation --------------------------------------------------------------------------------------

Problem = tuple[str, str]
"""A problem of a workflow file: its path and the message."""


def _raw_needs(steps: list[Any]) -> tuple[list[str | None], list[list[tuple[int, str]] | None]]:
    ids = [
        step["id"] if isinstance(step, dict) and isinstance(step.get("id"), str) else None
        for step in steps
    ]
    needs: list[list[tuple[int, str]] | None] = []
    for step in steps:
        wanted = step.get("needs") if isinstance(step, dict) else None
        if isinstance(wanted, list):
            needs.append([(j, need) for j, need in enumerate(wanted) if isinstance(need, str)])
        else:
            needs.append(None)
    return ids, needs


def graph_problems(steps: list[Any], *, outputs: bool = False) -> list[Problem]:
    """Problems of the ``needs`` of a workflow file's ``steps`` (the raw YAML list): an unknown,
    repeated or self need, cycles, steps that wait on a cycle, and several ends (unless
    ``outputs`` joins them). Nothing for a file without ``needs``."""
    ids, raw = _raw_needs(steps)
    if all(wanted is None for wanted in raw):
        return []
    problems: list[Problem] = []
    positions: dict[str, int] = {}
    for position, step_id in enumerate(ids):
        if step_id is not None:
            positions.setdefault(step_id, position)
    edges: list[list[int]] = []
    for position, wanted in enumerate(raw):
        if wanted is None:
            edges.append([position - 1] if position else [])
            continue
        found: list[int] = []
        path = child_path(child_path("steps", position), "needs")
        seen: set[str] = set()
        for j, need in wanted:
            at = child_path(path, j)
            if need == ids[position]:
                problems.append((at, f"step {need!r} cannot need itself"))
            elif need in seen:
                problems.append((at, f"step {need!r} is listed twice in needs"))
            elif need not in positions:
                hint = suggest(need, set(positions) - {ids[position] or ""})
                problems.append((at, f"unknown step {need!r}{hint}"))
            else:
                found.append(positions[need])
            seen.add(need)
        edges.append(found)
    problems.extend(_cycle_problems(ids, raw, edges))
    if not problems and not outputs:
        ends = graph_of(edges).ends
        if len(ends) > 1:
            names = ", ".join(repr(ids[p]) for p in ends)
            for position in ends[1:]:
                problems.append(
                    (
                        child_path(child_path("steps", position), "id"),
                        f"the graph ends in more than one step ({names}): add a last step that "
                        "needs them, so that the execution completes when it does",
                    )
                )
    return problems


def _cycle_problems(
    ids: list[str | None], raw: list[list[tuple[int, str]] | None], edges: list[list[int]]
) -> list[Problem]:
    """A problem for each cycle (at the need that closes it, in the first step of the cycle),
    and for each step that waits, through its needs, on a step of a cycle."""
    on_cycle = _on_cycles(edges)
    problems: list[Problem] = []
    reported: set[frozenset[int]] = set()
    for position in sorted(on_cycle):
        cycle = on_cycle[position]
        if cycle in reported:
            continue
        reported.add(cycle)
        loop = _loop(position, edges, cycle)
        names = " -> ".join(repr(ids[p]) for p in loop)
        # The first step of a cycle names its needs: a step that does not needs the step before
        # it, which would be on the cycle too, and earlier. The need that closes the loop is one.
        wanted = raw[position] or []
        j = next((j for j, need in wanted if need == ids[loop[1]]), 0)
        path = child_path(child_path(child_path("steps", position), "needs"), j)
        problems.append((path, f"the steps {names} need each other in a cycle: none can run"))
    for position, step_id in enumerate(ids):
        if position in on_cycle:
            continue
        blocked = _waits_on(position, edges, on_cycle)
        if blocked is not None:
            problems.append(
                (
                    child_path(child_path("steps", position), "id"),
                    f"step {step_id!r} can never run: it waits for step {ids[blocked]!r}, "
                    "which is on a cycle",
                )
            )
    return problems


def _on_cycles(edges: list[list[int]]) -> dict[int, frozenset[int]]:
    """Each step on a cycle, with its strongly connected component (Kosaraju, iterative)."""
    n = len(edges)
    order: list[int] = []
    visited = [False] * n
    for start in range(n):
        if visited[start]:
            continue
        visited[start] = True
        stack = [(start, iter(edges[start]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                order.append(node)
            elif not visited[child]:
                visited[child] = True
                stack.append((child, iter(edges[child])))
    reverse: list[list[int]] = [[] for _ in range(n)]
    for node, targets in enumerate(edges):
        for target in targets:
            reverse[target].append(node)
    component = [-1] * n
    groups: list[list[int]] = []
    for root in reversed(order):
        if component[root] >= 0:
            continue
        group = [root]
        component[root] = len(groups)
        todo = [root]
        while todo:
            node = todo.pop()
            for other in reverse[node]:
                if component[other] < 0:
                    component[other] = len(groups)
                    group.append(other)
                    todo.append(other)
        groups.append(group)
    found: dict[int, frozenset[int]] = {}
    for group in groups:
        if len(group) > 1 or group[0] in edges[group[0]]:
            members = frozenset(group)
            for node in group:
                found[node] = members
    return found


def _loop(start: int, edges: list[list[int]], members: frozenset[int]) -> list[int]:
    """A cycle through ``start`` inside ``members``, from ``start`` back to it."""
    previous: dict[int, int] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(edges[node]):
            if target not in members:
                continue
            if target == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [*reversed(chain), start]
            if target not in previous:
                previous[target] = node
                queue.append(target)
    return [start, start]


def _waits_on(
    position: int, edges: list[list[int]], on_cycle: dict[int, frozenset[int]]
) -> int | None:
    """A step on a cycle that ``position`` waits for through its needs, if any."""
    seen: set[int] = set()
    stack = list(edges[position])
    while stack:
        node = stack.pop()
        if node in on_cycle:
            return node
        if node not in seen:
            seen.add(node)
            stack.extend(edges[node])
    return None


def graph_place(graph: StepGraph, position: int) -> tuple[bool, tuple[int, ...]] | None:
    """Where a step stands in a graph: whether the graph ends in it (its finish completes the
    execution) and the steps that need it; ``None`` in a list, or for a position past the graph
    (a step that is no part of it)."""
    if graph.linear or position >= len(graph.needs):
        return None
    return position in graph.ends, graph.dependents[position]


def run_order(graph: StepGraph) -> list[int]:
    """One order the steps of ``graph`` may run in, the same every time: each step after every
    step it needs, and among the runnable ones the first in the file first (a list: its order).
    The rehearsal kit runs a graph in this order."""
    return dependency_order(graph.needs)
