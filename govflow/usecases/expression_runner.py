"""Evaluating a step's ``if:`` and ``with:`` without stalling the worker's event loop.

Templates the syntax shows to be cheap (:func:`~govflow.core.expressions.values_inline`: lookups,
comparisons, concatenation, linear filters, short) are evaluated inline, as before: that is the
hot path of every step. Linear in a large input can still be slow, so an inline evaluation has
:data:`INLINE_SECONDS`; one that runs out of it starts over in a thread. The others run in the
shared off-loop pool with a budget whose deadline starts when the thread starts; the await is
bounded by an asyncio timeout a little longer than the budget's time limit, as a backstop. Either
way a limit breach is an :class:`~govflow.core.expressions.ExpressionLimitError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from govflow.core.expression_limits import LIMITS, ExpressionLimits
from govflow.core.expressions import (
    Budget,
    ExpressionLimitError,
    VarError,
    condition_inline,
    evaluate_condition,
    evaluate_vars,
    render,
    values_inline,
)
from govflow.usecases.off_loop import THREADS, run_off_loop

GRACE_SECONDS = 1.0
"""How much longer than the time limit the event loop waits for a thread's evaluation."""

INLINE_SECONDS = 0.05
"""The longest an inline evaluation may hold the event loop; past it, it starts over in a
thread with the full time limit (evaluating has no side effects)."""


class ExpressionRunner:
    """Evaluates templates and conditions, inline when cheap, in a thread otherwise.

    :param limits: the limits of each evaluation.
    :param clock: the monotonic clock the time limit is measured with.
    """

    def __init__(
        self,
        limits: ExpressionLimits = LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self._inline_limits = msgspec.structs.replace(
            limits, time_limit_seconds=min(INLINE_SECONDS, limits.time_limit_seconds)
        )
        self._slots = asyncio.Semaphore(THREADS)

    def _budget(self) -> Budget:
        return Budget(self.limits, self.clock)

    async def render(
        self, value: Any, context: Mapping[str, Any], inline: bool | None = None
    ) -> Any:
        """``value`` (a ``with:`` block) with every template rendered.

        :param inline: what :func:`~govflow.core.expressions.values_inline` says of ``value``,
            when the caller kept it (a step's ``with:`` never changes); worked out if ``None``.
        :raises ExpressionError: a template fails or goes beyond a limit.
        """
        if values_inline(value) if inline is None else inline:
            budget = Budget(self._inline_limits, self.clock)
            try:
                return render(value, context, budget)
            except ExpressionLimitError:
                if not budget.expired:
                    raise
        return await self._in_thread(lambda: render(value, context, self._budget()))

    async def variables(
        self, templates: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A workflow's ``vars:`` evaluated against ``inputs``.

        :raises VarError: a variable fails or goes beyond a limit.
        """
        if values_inline(dict(templates)):
            budget = Budget(self._inline_limits, self.clock)
            try:
                return evaluate_vars(templates, inputs, budget)
            except VarError:
                if not budget.expired:
                    raise
        return dict(await self._in_thread(lambda: evaluate_vars(templates, inputs, self._budget())))

    async def condition(self, condition: str, context: Mapping[str, Any]) -> bool:
        """Whether the ``if:`` expression holds.

        :raises ExpressionError: it fails or goes beyond a limit.
        """
        if condition_inline(condition):
            budget = Budget(self._inline_limits, self.clock)
            try:
                return evaluate_condition(condition, context, budget)
            except ExpressionLimitError:
                if not budget.expired:
                    raise
        return bool(
            await self._in_thread(lambda: evaluate_condition(condition, context, self._budget()))
        )

    async def _in_thread(self, job: Callable[[], Any]) -> Any:
        async with self._slots:  # waiting for a thread does not count towards the time limit
            try:
                async with asyncio.timeout(self.limits.time_limit_seconds + GRACE_SECONDS):
                    return await run_off_loop(job)
            except TimeoutError:
                raise ExpressionLimitError(
                    f"the evaluation took longer than {self.limits.time_limit_seconds:g}s"
                ) from None
