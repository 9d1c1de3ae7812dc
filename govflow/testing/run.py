"""``run_action``: decode a ``with:`` block and run an action, as the engine does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from govflow.core.output_refs import output_problems
from govflow.core.validation import convert_action_inputs
from govflow.plugins import Action, ActionContext
from govflow.plugins.registry import output_struct
from govflow.testing.context import make_context


def decode_inputs(action: Action, with_: Mapping[str, Any]) -> Any:
    """Decode ``with_`` (already rendered) into ``action.inputs``.

    :raises ValueError: with every problem, each as ``with.<path>: message``.
    """
    return convert_action_inputs(action.inputs, with_)


async def run_action(
    action: Action, with_: Mapping[str, Any], ctx: ActionContext | None = None
) -> Mapping[str, Any]:
    """Decode ``with_`` into the action's inputs, run ``execute`` and return its output.

    Errors the action raises (``BusinessError``, ``TechnicalError``, ``Suspend``) propagate.

    :param action: the action to run.
    :param with_: the step's ``with:`` block, templates already rendered.
    :param ctx: the context; ``make_context()`` when omitted.
    :raises ValueError: ``with_`` does not match the action's inputs.
    """
    params = decode_inputs(action, with_)
    output = await action.execute(ctx or make_context(), params)
    check_output(action, output)
    return output


def check_output(action: Action, output: Mapping[str, Any]) -> None:
    """Check ``output`` (what ``action`` returned) against the output Struct the action
    declares (``outputs``); nothing to check when it declares none. :func:`run_action` does it
    for every output it returns.

    :raises ValueError: with every difference, each as ``output.<path>: message``.
    """
    struct = output_struct(action)
    if struct is None:
        return
    problems = output_problems(struct, output)
    if problems:
        raise ValueError(
            f"action {action.name!r} returned an output that does not fit its declared "
            f"{struct.__name__}: " + "; ".join(problems)
        )
