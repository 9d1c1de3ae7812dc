"""Workflow version specs, cached per process: a version never changes once stored.

The first read of a version is a step's first statement after its claim: a lost connection is
ridden out like the step statements' (:mod:`.resilience`); a read is safe to run again.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from cachetools import LRUCache

from govflow.adapters.db.resilience import DEFAULT_POLICY, Resilient, RetryPolicy
from govflow.core.spec import WorkflowSpec

_SPEC = "SELECT spec::text FROM workflow_versions WHERE id = $1"


class UnknownVersionError(LookupError):
    """No workflow version with that id."""


class CachedSpecSource:
    """The ``SpecSource`` port: reads ``workflow_versions.spec`` once per version."""

    def __init__(
        self, pool: asyncpg.Pool, max_entries: int = 1024, policy: RetryPolicy = DEFAULT_POLICY
    ) -> None:
        self._db = Resilient(pool, policy)
        self._cache: LRUCache[UUID, WorkflowSpec] = LRUCache(maxsize=max_entries)

    async def spec(self, version_id: UUID) -> WorkflowSpec:
        cached = self._cache.get(version_id)
        if cached is not None:
            return cached
        text = await self._db.run(
            lambda conn: conn.fetchval(_SPEC, version_id),
            lambda: f"reading the spec of workflow version {version_id}",
        )
        if text is None:
            raise UnknownVersionError(str(version_id))
        spec = msgspec.json.decode(text, type=WorkflowSpec)
        self._cache[version_id] = spec
        return spec
