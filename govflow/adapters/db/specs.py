"""Workflow version specs, cached per process: a version never changes once stored."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from govflow.core.spec import WorkflowSpec


class UnknownVersionError(LookupError):
    """No workflow version with that id."""


class CachedSpecSource:
    """The ``SpecSource`` port: reads ``workflow_versions.spec`` once per version."""

    def __init__(self, pool: asyncpg.Pool, max_entries: int = 1024) -> None:
        self._pool = pool
        self._cache: dict[UUID, WorkflowSpec] = {}
        self._max = max_entries

    async def spec(self, version_id: UUID) -> WorkflowSpec:
        cached = self._cache.get(version_id)
        if cached is not None:
            return cached
        async with self._pool.acquire() as conn:
            text = await conn.fetchval(
                "SELECT spec::text FROM workflow_versions WHERE id = $1", version_id
            )
        if text is None:
            raise UnknownVersionError(str(version_id))
        spec = msgspec.json.decode(text, type=WorkflowSpec)
        if len(self._cache) >= self._max:
            self._cache.pop(next(iter(self._cache)))
        self._cache[version_id] = spec
        return spec
