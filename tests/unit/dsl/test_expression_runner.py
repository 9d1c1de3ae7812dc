"""The worker's expression runner: cheap templates inline, the others in a thread under the
budget, and the event loop answering meanwhile."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from govflow.core.expression_limits import LIMITS, ExpressionLimits
from govflow.core.expressions import ExpressionLimitError, build_context
from govflow.usecases.expression_runner import ExpressionRunner

CTX = build_context(
    {"who": "ada", "n": 3, "many": list(range(3_000)), "big": "x" * 1_000_000},
    {"a": {"output": {"v": 1}, "status": "COMPLETED"}},
    {"id": "e1"},
)
NESTED = "{% for a in inputs.many %}{% for b in inputs.many %}{{ a }}{% endfor %}{% endfor %}"


class ThreadClock:
    """A monotonic clock that notes the threads it is read from (budgets read it on creation)."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def __call__(self) -> float:
        self.threads.add(threading.current_thread().name)
        return time.monotonic()


async def test_cheap_templates_are_rendered_on_the_loop_thread() -> None:
    clock = ThreadClock()
    runner = ExpressionRunner(clock=clock)
    value = {"m": "Hello {{ inputs.who | upper }}", "n": "{{ steps.a.output.v }}"}
    assert await runner.render(value, CTX) == {"m": "Hello ADA", "n": 1}
    assert await runner.condition("steps.a.status == 'COMPLETED'", CTX) is True
    assert clock.threads == {threading.current_thread().name}


async def test_other_templates_are_rendered_in_the_pool() -> None:
    clock = ThreadClock()
    runner = ExpressionRunner(clock=clock)
    value = {"m": "{% for i in inputs.many[:3] %}{{ i * 2 }}{% endfor %}"}
    assert await runner.render(value, CTX) == {"m": "024"}
    assert await runner.condition("inputs.n * 2 == 6", CTX) is True
    assert clock.threads
    assert all(name.startswith("govflow-off-loop") for name in clock.threads)


async def test_a_hostile_loop_ends_by_its_budget_while_the_loop_keeps_ticking() -> None:
    runner = ExpressionRunner()
    lags: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - started - 0.005)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        with pytest.raises(ExpressionLimitError, match="more than 1,000,000 operations"):
            await runner.render({"m": NESTED}, CTX)
    finally:
        done.set()
        await ticker
    assert time.perf_counter() - started < LIMITS.time_limit_seconds + 1
    # The loop went on ticking while the expression ran: evaluated on the loop's own thread, it
    # would have let the ticker in once, after the whole evaluation. (How late each tick was
    # depends on the machine's load, so it is not what is asserted.)
    assert len(lags) >= 3, lags


async def test_the_time_limit_ends_a_thread_evaluation() -> None:
    limits = ExpressionLimits(max_operations=10**12, time_limit_seconds=0.2)
    runner = ExpressionRunner(limits=limits)
    started = time.perf_counter()
    with pytest.raises(ExpressionLimitError, match=r"took longer than 0\.2s"):
        await runner.render({"m": NESTED}, CTX)
    assert time.perf_counter() - started < 1.0


async def test_an_inline_evaluation_that_runs_long_starts_over_in_a_thread() -> None:
    ticks = iter([0.0, 0.0, *[1.0] * 100])  # the inline budget expires at its first charges

    clock = ThreadClock()

    def slow_clock() -> float:
        clock()
        return next(ticks, 1.0)

    runner = ExpressionRunner(clock=slow_clock)
    value = {"m": "{{ inputs.who | upper }} {{ inputs.who | lower }}"}
    assert await runner.render(value, CTX) == {"m": "ADA ada"}
    assert threading.current_thread().name in clock.threads
    assert any(name.startswith("govflow-off-loop") for name in clock.threads)


async def test_other_limits_of_an_inline_evaluation_fail_at_once() -> None:
    clock = ThreadClock()
    runner = ExpressionRunner(clock=clock)
    with pytest.raises(ExpressionLimitError, match="string result longer"):
        await runner.render({"m": "{{ inputs.big ~ inputs.big }}"}, CTX)
    assert clock.threads == {threading.current_thread().name}
