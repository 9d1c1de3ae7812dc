"""Embedded PostgreSQL and Redis: real servers run from Python wheels under GovFlow's data folder.

Used when ``DATABASE_URL`` / ``REDIS_URL`` are not set. Starts are serialised with a file lock,
so several GovFlow processes may ask for them at once; a stale pid or socket left by a killed run
is detected and cleaned before a new start.
"""

from __future__ import annotations

from govflow.adapters.embedded.errors import EmbeddedServerError
from govflow.adapters.embedded.postgres import EmbeddedPostgres
from govflow.adapters.embedded.redis import EmbeddedRedis

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServerError"]
