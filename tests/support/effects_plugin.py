"""A test plugin whose actions record their external effects in tables outside GovFlow's
transactions, and can SIGKILL their own worker at a chosen moment (once per step).

Loaded into worker processes with ``GOVFLOW_PLUGINS_MODULES=tests.support.effects_plugin``;
the effects database is named by ``GOVFLOW_TEST_EFFECTS_DSN``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import asyncpg
import msgspec

from govflow.plugins import (
    Action,
    ActionContext,
    ActionRegistry,
    BusinessError,
    Idempotency,
    TechnicalError,
    hookimpl,
)

CrashPoint = Literal["before_effect", "during_effect", "after_effect"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS test_effects (
    id bigserial PRIMARY KEY, key text NOT NULL, attempt int NOT NULL, label text NOT NULL);
CREATE TABLE IF NOT EXISTS test_remote_keyed (key text PRIMARY KEY, label text NOT NULL);
CREATE TABLE IF NOT EXISTS test_crashes (key text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS test_failures (key text NOT NULL, attempt int NOT NULL);
"""


class EffectInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    label: str = "effect"
    sleep_ms: int = 0
    crash: CrashPoint | None = None
    fail_times: int = 0
    business_error: bool = False


async def _connect() -> asyncpg.Connection:
    return await asyncpg.connect(os.environ["GOVFLOW_TEST_EFFECTS_DSN"])


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _EffectAction(Action):
    description: ClassVar[str] = "records one effect per attempt (tests only)"
    inputs: ClassVar[type[msgspec.Struct]] = EffectInputs
    remote_dedup: ClassVar[bool] = False

    async def execute(self, ctx: ActionContext, params: EffectInputs) -> Mapping[str, Any]:
        conn = await _connect()
        try:
            crash_now = False
            if params.crash is not None:
                inserted = await conn.fetchval(
                    "INSERT INTO test_crashes (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
                    ctx.idempotency_key,
                )
                crash_now = inserted == 1
            if crash_now and params.crash == "before_effect":
                _die()
            if params.business_error:
                raise BusinessError(f"refused: {params.label}")
            failures = await conn.fetchval(
                "SELECT count(*) FROM test_failures WHERE key = $1", ctx.idempotency_key
            )
            if failures < params.fail_times:
                await conn.execute(
                    "INSERT INTO test_failures (key, attempt) VALUES ($1, $2)",
                    ctx.idempotency_key,
                    ctx.attempt,
                )
                raise TechnicalError(f"transient failure {failures + 1}")
            if params.sleep_ms:
                if crash_now and params.crash == "during_effect":
                    await asyncio.sleep(params.sleep_ms / 2000)
                    _die()
                await asyncio.sleep(params.sleep_ms / 1000)
            if self.remote_dedup:
                await conn.execute(
                    "INSERT INTO test_remote_keyed (key, label) VALUES ($1, $2) "
                    "ON CONFLICT (key) DO NOTHING",
                    ctx.idempotency_key,
                    params.label,
                )
            await conn.execute(
                "INSERT INTO test_effects (key, attempt, label) VALUES ($1, $2, $3)",
                ctx.idempotency_key,
                ctx.attempt,
                params.label,
            )
            if crash_now and params.crash == "after_effect":
                _die()
        finally:
            await conn.close()
        return {"label": params.label, "attempt": ctx.attempt}

    async def lookup(self, ctx: ActionContext, params: EffectInputs) -> Mapping[str, Any] | None:
        conn = await _connect()
        try:
            attempt = await conn.fetchval(
                "SELECT attempt FROM test_effects WHERE key = $1 ORDER BY id LIMIT 1",
                ctx.idempotency_key,
            )
        finally:
            await conn.close()
        return None if attempt is None else {"label": params.label, "attempt": attempt}


class EffectNone(_EffectAction):
    name: ClassVar[str] = "effect_none"
    idempotency: ClassVar[Idempotency] = Idempotency.NONE


class EffectLocal(_EffectAction):
    name: ClassVar[str] = "effect_local"
    idempotency: ClassVar[Idempotency] = Idempotency.LOCAL


class EffectRemoteLookup(_EffectAction):
    name: ClassVar[str] = "effect_remote_lookup"
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_LOOKUP


class EffectRemoteKey(_EffectAction):
    name: ClassVar[str] = "effect_remote_key"
    idempotency: ClassVar[Idempotency] = Idempotency.REMOTE_KEY
    remote_dedup: ClassVar[bool] = True


class EffectAtMostOnce(_EffectAction):
    name: ClassVar[str] = "effect_at_most_once"
    idempotency: ClassVar[Idempotency] = Idempotency.AT_MOST_ONCE


class EchoInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    value: Any = None


class Echo(Action):
    """Returns its input: a step with no external effect."""

    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "returns its input (tests and benchmarks)"
    inputs: ClassVar[type[msgspec.Struct]] = EchoInputs
    idempotency: ClassVar[Idempotency] = Idempotency.NONE

    async def execute(self, ctx: ActionContext, params: EchoInputs) -> Mapping[str, Any]:
        return {"value": params.value}


ACTIONS = (EffectNone, EffectLocal, EffectRemoteLookup, EffectRemoteKey, EffectAtMostOnce, Echo)


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    for action in ACTIONS:
        register.add(action())
