"""What a worker needs to know about a step of a workflow version before it runs it.

A workflow version never changes, so the step at a position, its retry schedule, its timeout,
where it stands among the steps, where the failure handlers start and whether its ``with:``
renders inline are worked out the first time a worker runs it and kept; every later attempt of
that step in that version reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from govflow.core.expressions import values_inline
from govflow.core.graph import StepGraph, graph_place, step_graph
from govflow.core.retry import RetrySchedule
from govflow.core.spec import (
    StepSpec,
    WorkflowSpec,
    effective_retry,
    effective_timeout,
    handlers_from,
    is_last_step,
    step_at,
)
from govflow.usecases.translate import retry_schedule

PLANS_KEPT = 4096
"""Steps remembered (by workflow version and position) before starting over."""


@dataclass(frozen=True, slots=True)
class StepPlan:
    """One step of one workflow version, as every attempt of it runs."""

    step: StepSpec
    retry: RetrySchedule
    timeout_seconds: float
    is_last_step: bool
    """Its finish ends the execution (the graph ends in it, or it is the last of a list)."""
    dependents: tuple[int, ...] | None
    """In a graph, the positions of the steps that need it; ``None`` in a list."""
    handlers_from: int | None
    """The position of the first failure handler (``None``: the workflow has none)."""
    with_inline: bool
    """Its ``with:`` is cheap enough to render on the event loop
    (:func:`~govflow.core.expressions.values_inline`)."""


def step_plan(spec: WorkflowSpec, graph: StepGraph, position: int) -> StepPlan:
    """The plan of the step at ``position`` of ``spec`` (whose steps are in ``graph``)."""
    step = step_at(spec, position)
    place = graph_place(graph, position)
    return StepPlan(
        step=step,
        retry=retry_schedule(effective_retry(spec, step)),
        timeout_seconds=effective_timeout(spec, step).total_seconds(),
        is_last_step=place[0] if place else is_last_step(spec, position),
        dependents=place[1] if place else None,
        handlers_from=handlers_from(spec),
        with_inline=values_inline(step.with_),
    )


class StepPlans:
    """The plans of the steps a worker ran, by workflow version and position."""

    def __init__(self, kept: int = PLANS_KEPT) -> None:
        self._kept = kept
        self._plans: dict[tuple[UUID, int], StepPlan] = {}
        self._graphs: dict[UUID, StepGraph] = {}

    def plan(self, version: UUID, spec: WorkflowSpec, position: int) -> StepPlan:
        """The plan of the step at ``position`` of ``spec``, the workflow version ``version``.

        :raises IndexError: the version has no step there.
        """
        key = (version, position)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= self._kept:
                self._plans.clear()
                self._graphs.clear()
            graph = self._graphs.get(version)
            if graph is None:
                graph = self._graphs[version] = step_graph(spec)
            plan = self._plans[key] = step_plan(spec, graph, position)
        return plan
