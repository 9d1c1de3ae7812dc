"""CPU-bound work (workflow validation, expensive templates) kept off the event loop.

One small thread pool per process, shared by every event loop in it: its size bounds how many
such jobs run at once (the others wait in its queue), so a burst of hostile requests cannot
take every core. A thread cannot be killed: whatever runs here must end on its own (templates
end by their budget; validation is bounded by the workflow file's size limits).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

THREADS = 2
"""How many off-loop jobs run at once in one process."""

_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="govflow-off-loop")


async def run_off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in the shared pool; the loop goes on meanwhile.

    Cancelling the await drops a job that has not started yet; a started one runs to its end.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, functools.partial(function, *args, **kwargs))
