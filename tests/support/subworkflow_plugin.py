"""A test plugin with ``workflow_crash``: the ``workflow`` action, except that the first
attempt of each step kills its own worker (SIGKILL) right after the child execution was
started, before the step's suspension is recorded.

Loaded into worker processes with ``GOVFLOW_PLUGINS_MODULES`` beside
``tests.support.effects_plugin`` (whose ``test_crashes`` table it shares).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any, ClassVar

import asyncpg
from govflow_workflow import WorkflowAction, WorkflowInputs

from govflow.plugins import ActionContext, ActionRegistry, PluginHost, Suspend, hookimpl
from govflow.plugins.children import ChildExecutions


class WorkflowCrash(WorkflowAction):
    name: ClassVar[str] = "workflow_crash"
    description: ClassVar[str] = "workflow, killing its worker once after the child starts"

    async def execute(self, ctx: ActionContext, params: WorkflowInputs) -> Mapping[str, Any]:
        try:
            return await super().execute(ctx, params)
        except Suspend:
            conn = await asyncpg.connect(os.environ["GOVFLOW_TEST_EFFECTS_DSN"])
            try:
                first = await conn.fetchval(
                    "INSERT INTO test_crashes (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1",
                    ctx.idempotency_key,
                )
            finally:
                await conn.close()
            if first == 1:
                os.kill(os.getpid(), signal.SIGKILL)
            raise


@hookimpl
def govflow_register_actions(register: ActionRegistry) -> None:
    register.add(WorkflowCrash())


@hookimpl
def govflow_startup(host: PluginHost) -> ChildExecutions | None:
    return host.executions
