"""The outputs step: a workflow's ``outputs:`` rendered and checked when its last step is done.

The step runs on a worker like any other (claim, lease, fencing token) so that an execution
completes the same way whichever path finished its last step of the file (a worker, a person
approving a task, an operator, a signal). Its output is the outputs; a value that cannot be
rendered or does not fit its type fails it, and the execution, with ``OUTPUTS_INVALID``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govflow.core.engine import AttemptFailedBusiness, AttemptSucceeded, StepError
from govflow.core.error_codes import StepErrorCode
from govflow.core.expressions import ExpressionError
from govflow.core.outputs import check_outputs
from govflow.core.spec import StepSpec, WorkflowSpec
from govflow.usecases.expression_runner import ExpressionRunner


async def evaluate_outputs(
    expressions: ExpressionRunner,
    spec: WorkflowSpec,
    step: StepSpec,
    context: Mapping[str, Any],
) -> AttemptSucceeded | AttemptFailedBusiness:
    """The outputs step's outcome: the outputs, or every problem with them."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, template in step.with_.items():
        try:
            values[name] = await expressions.render(template, context)
        except ExpressionError as error:
            problems.append(f"outputs.{name}: {error}")
    problems += check_outputs(spec, values)
    if problems:
        return AttemptFailedBusiness(StepError(StepErrorCode.OUTPUTS_INVALID, "; ".join(problems)))
    return AttemptSucceeded(values)
