"""A ceiling on the memory a worker process may write (``WORKER_MEMORY_LIMIT_MB``).

``RLIMIT_DATA`` counts what a process can write: its heap and private anonymous mappings (Linux
4.7 and later), which is where Python puts every object. Unlike ``RLIMIT_AS`` it does not count
address space that is only reserved (each thread's malloc arena reserves 64 MiB, shared
libraries map hundreds more), so the ceiling can sit near what a worker really uses without
failing at start on a machine with many cores. Beyond it an allocation fails with
``MemoryError``; the step runner records that as the attempt's error and the worker goes on.
Templates cannot get near it: their results are bounded far below (see ``expression_limits``).
"""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("govflow.worker")

MIB = 1024 * 1024


def limit_memory(megabytes: int) -> int | None:
    """Lower this process's ``RLIMIT_DATA`` soft limit to ``megabytes`` MiB (0: leave it).

    Never raises the limit above the hard limit already in force.

    :returns: the soft limit now in force, in bytes (None: unlimited).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if megabytes > 0:
        wanted = megabytes * MIB
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
        soft = wanted
        log.info("worker memory limited to %d MiB (RLIMIT_DATA)", wanted // MIB)
    return None if soft == resource.RLIM_INFINITY else soft
