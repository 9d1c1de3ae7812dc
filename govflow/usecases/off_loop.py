"""CPU-bound work (workflow validation, expensive templates) kept off the event loop.

One small thread pool per process, shared by every event loop in it: its size bounds how many
such jobs run at once (the others wait in its queue), so a burst of hostile requests cannot
take every core. A thread cannot be killed: whatever runs here must end on its own (templates
end by their budget; validation is bounded by the workflow file's size limits).

The pool's threads share the interpreter lock with the event loop: while one of them computes,
the loop waits up to the interpreter's switch interval (5 ms by default) each time it wants the
lock back, and answering one request takes several such hand-offs. The first use of the pool
lowers the switch interval to :data:`SWITCH_INTERVAL_SECONDS` so that the loop keeps answering
within milliseconds while a thread validates a large file.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

THREADS = 2
"""How many off-loop jobs run at once in one process."""

SWITCH_INTERVAL_SECONDS = 0.001
"""The interpreter's switch interval once the pool is in use."""

_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="govflow-off-loop")


async def run_off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in the shared pool; the loop goes on meanwhile.

    Cancelling the await drops a job that has not started yet; a started one runs to its end.
    """
    if sys.getswitchinterval() > SWITCH_INTERVAL_SECONDS:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(function, *args, **kwargs))
