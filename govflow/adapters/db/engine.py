"""The database engine: one asyncpg pool, shared by Piccolo queries and hand-written SQL.

The CRUD adapters build their statements with Piccolo's query builder on the tables of
:mod:`govflow.adapters.db.tables`; the engine's hot path keeps hand-written SQL
(``docs/decisions.md`` says why). The pool has no custom type codecs, so Piccolo's JSON columns
work as Piccolo expects; hand-written SQL passes JSON as text (``$1::jsonb``).

No ``piccolo_conf`` and no process-wide engine decide where a query runs. The tables are declared
with :data:`TABLES_ENGINE`, which gives Piccolo its SQL dialect and refuses to run anything; each
:class:`Database` registers its own engine (over its own pool) as one of that engine's nodes, and
:meth:`Database.run` runs a query on it (``query.run(node=...)``, Piccolo's API for read replicas).
Two databases open in one process (tests do that) can therefore never swap pools or
transactions.

Every connection acts as the least-privileged role (``govflow_app``, see
:mod:`govflow.adapters.db.roles`), asked for in the startup packet rather than by a ``SET ROLE``
statement: the role is then the session's default, so no ``RESET`` brings the login user back.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.query.base import Query

from govflow.adapters.db.roles import APP_ROLE
from govflow.adapters.db.tables import ALL_TABLES


class GovflowEngine(PostgresEngine):  # type: ignore[misc]
    """Piccolo's Postgres engine, built without connecting (the pool is started explicitly)."""

    async def check_version(self) -> None:
        """Skipped: the version is checked by ``govflow migrate`` instead of at import."""

    async def prep_database(self) -> None:
        """Nothing to prepare: GovFlow needs no extension."""


class _TablesEngine(GovflowEngine):
    """The engine the tables are declared with: it names the dialect and runs no query."""

    def _refuse(self) -> NoReturn:
        raise RuntimeError("a Piccolo query names the database it runs on: use Database.run(query)")

    async def run_querystring(self, querystring: Any, in_pool: bool = True) -> Any:
        self._refuse()

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        self._refuse()

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        self._refuse()


_NODES: dict[str, PostgresEngine] = {}
TABLES_ENGINE = _TablesEngine(config={}, extra_nodes=_NODES)
"""Every table's ``_meta.db``; the started databases are its nodes."""

for _table in ALL_TABLES:
    _table._meta.db = TABLES_ENGINE


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release a connection as it is: GovFlow leaves no session state behind (no LISTEN, no
    session settings, advisory locks always released explicitly), so asyncpg's default reset
    (four statements per release) would only cost a round trip's CPU on every query."""


ROUND_SETTINGS = {
    "plan_cache_mode": "force_generic_plan",
    "enable_seqscan": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}
"""The session settings of the connections that send rounds (:attr:`Database.round_pool`): one
generic plan per statement, made without sequential scans, hash joins or merge joins, so that
every row of a round is reached by its key whatever the tables' size when the plan was made."""


class Database:
    """Owns the pool; binds the Piccolo tables to it."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        application_name: str = "govflow",
        role: str | None = APP_ROLE,
        round_connections: int = 0,
    ) -> None:
        """:param role: the role every connection acts as; ``None`` keeps the login user's.
        :param round_connections: the size of :attr:`round_pool` (0: none)."""
        self.dsn = dsn
        self.server_settings = {"application_name": application_name}
        if role is not None:
            self.server_settings["role"] = role
        self.engine = GovflowEngine(config={"dsn": dsn, "server_settings": self.server_settings})
        self._min_size = min_size
        self._max_size = max_size
        self._role = role
        self._pool: asyncpg.Pool | None = None
        self._round_connections = round_connections
        self._round_pool: asyncpg.Pool | None = None
        self.node = f"govflow-{uuid.uuid4().hex}"
        """This database's name among :data:`TABLES_ENGINE`'s nodes."""

    async def start(self) -> None:
        if self._pool is None:
            try:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=self._min_size,
                    max_size=self._max_size,
                    command_timeout=60,
                    server_settings=self.server_settings,
                    reset=_keep_session,
                )
            except (asyncpg.InvalidParameterValueError, asyncpg.InsufficientPrivilegeError) as exc:
                if self._role is None or "role" not in str(exc):
                    raise
                raise RuntimeError(
                    f"the database has no role {self._role} that this login may act as: "
                    f"run `govflow migrate` (it creates the role), and make the login a member "
                    f"(GRANT {self._role} TO <login>) unless it is a superuser"
                ) from exc
            self.engine.pool = self._pool
            _NODES[self.node] = self.engine
        if self._round_pool is None and self._round_connections > 0:
            self._round_pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self._round_connections,
                command_timeout=60,
                server_settings=self.server_settings | ROUND_SETTINGS,
                reset=_keep_session,
            )

    async def close(self) -> None:
        if self._round_pool is not None:
            await self._round_pool.close()
            self._round_pool = None
        if self._pool is not None:
            _NODES.pop(self.node, None)
            await self._pool.close()
            self._pool = None
            self.engine.pool = None

    async def run(self, query: Query[Any, Any]) -> Any:
        """Run a Piccolo query here: in this task's open :meth:`transaction`, if there is one,
        otherwise on a pooled connection. Database errors are asyncpg's, unchanged."""
        if self._pool is None:
            raise RuntimeError("the database pool is not started")
        return await query.run(node=self.node)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A Piccolo transaction on a pooled connection: the queries :meth:`run` runs in this
        task inside the block belong to it; the block gets the asyncpg connection, for
        hand-written statements (the audit rows) in the same transaction. Nested, it joins the
        open one."""
        async with self.engine.transaction() as transaction:
            yield transaction.connection

    @property
    def round_pool(self) -> asyncpg.Pool | None:
        """The connections that send rounds of group commit (``None``: none were asked for).

        Each statement on them is planned once, for key lookups (``ROUND_SETTINGS``): a round
        reaches each of its rows through its key, the right plan for any size of the tables;
        the default settings' generic plan, made while the tables were still empty, would scan
        them, and planning each round for its rows cost a third of its time."""
        return self._round_pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not started")
        return self._pool

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=2) as conn:
                return bool(await conn.fetchval("SELECT 1", timeout=2) == 1)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)
