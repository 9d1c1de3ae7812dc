"""The test kit: contexts, running actions, rehearsals, fixtures, and the CLI listing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import govflow_manual
import pytest
from click.testing import CliRunner

from govflow.cli.plugins import command
from govflow.core.spec_errors import SpecError
from govflow.core.statuses import ExecutionStatus, StepStatus
from govflow.plugins import ActionContext, BusinessError, PluginManager, Suspend
from govflow.testing import RehearsalError, StubResult, make_context, rehearse

WORKFLOW = """
name: building-permit
title: Building permit review
department: urban-planning
inputs:
  issue_key: {type: string, pattern: "^[A-Z][A-Z0-9]+-[0-9]+$"}
steps:
  - id: review
    action: manual
    with: {title: "Review {{ inputs.issue_key }}", assignee: {role: OPERATOR}}
  - id: notify
    action: notification
    with:
      channel: log
      message: "{{ inputs.issue_key }}: {{ steps.review.output.decision }}"
  - id: close
    action: jira_transition
    with: {issue: "{{ inputs.issue_key }}", to_status: Done}
"""
INPUTS = {"issue_key": "PERMIT-1"}


def test_make_context_defaults_and_overrides() -> None:
    ctx = make_context(step_key="review", attempt=2, settings={"enabled": "true"})
    assert ctx.step_key == "review"
    assert ctx.attempt == 2
    assert ctx.idempotency_key.endswith(":review")
    assert make_context(step_key="review").idempotency_key == ctx.idempotency_key
    with pytest.raises(TypeError, match="no field"):
        make_context(attemp=2)


def test_rehearse_completes() -> None:
    run = rehearse(
        WORKFLOW, INPUTS, {"review": {"decision": "approved"}, "notify": {}, "close": {}}
    )
    assert run.status is ExecutionStatus.COMPLETED
    assert run.sequence == ["review", "notify", "close"]
    assert run.params["notify"]["message"] == "PERMIT-1: approved"
    assert run.outputs["review"] == {"decision": "approved"}


def test_rehearse_business_error_fails_the_execution() -> None:
    results: dict[str, StubResult] = {
        "review": {"decision": "x"},
        "notify": BusinessError("no"),
        "close": {},
    }
    run = rehearse(WORKFLOW, INPUTS, results)
    assert run.status is ExecutionStatus.FAILED
    assert run.sequence == ["review", "notify"]
    assert run.steps["notify"] is StepStatus.FAILED
    assert run.error == "step 'notify': BusinessError: no"


def test_rehearse_evaluates_conditions() -> None:
    conditional = WORKFLOW.replace(
        "    action: jira_transition\n",
        "    action: jira_transition\n    if: \"steps.review.output.decision == 'approved'\"\n",
    )
    approved = {"review": {"decision": "approved"}, "notify": {}, "close": {}}
    assert rehearse(conditional, INPUTS, approved).sequence == ["review", "notify", "close"]
    rejected = rehearse(conditional, INPUTS, {"review": {"decision": "rejected"}, "notify": {}})
    assert rejected.sequence == ["review", "notify"]
    assert rejected.skipped == ["close"]
    assert rejected.status is ExecutionStatus.COMPLETED


def test_rehearse_skip_and_suspend() -> None:
    run = rehearse(WORKFLOW, INPUTS, {"review": Suspend("human_task")})
    assert run.status is ExecutionStatus.WAITING
    assert run.sequence == ["review"]
    run = rehearse(WORKFLOW, INPUTS, {"review": {"decision": "y"}, "notify": "skip", "close": {}})
    assert run.skipped == ["notify"]
    assert run.sequence == ["review", "close"]


def test_rehearse_rendering_failure_fails_the_step() -> None:
    run = rehearse(WORKFLOW, INPUTS, {"review": {}, "notify": {}, "close": {}})
    assert run.status is ExecutionStatus.FAILED
    assert run.steps["notify"] is StepStatus.FAILED
    assert "decision" in (run.error or "")


def test_rehearse_needs_a_result_for_every_step_that_runs() -> None:
    with pytest.raises(RehearsalError, match="'notify'"):
        rehearse(WORKFLOW, INPUTS, {"review": {"decision": "y"}})


def test_rehearse_rejects_an_invalid_workflow() -> None:
    with pytest.raises(SpecError):
        rehearse(WORKFLOW.replace("action: manual", "action: manuel"), INPUTS, {})


def test_fixtures(
    action_context: ActionContext, govflow_plugin_manager: Callable[..., PluginManager]
) -> None:
    assert action_context.attempt == 1
    manager = govflow_plugin_manager(govflow_manual)
    assert manager.actions().names() == ["manual"]


def test_cli_lists_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVFLOW_PLUGINS_ALLOW", "manual,notification")
    runner = CliRunner()
    table = runner.invoke(command, ["list"])
    assert table.exit_code == 0, table.output
    assert "notification" in table.output
    assert "local (per step)" in table.output
    assert "title*" in table.output
    listed = json.loads(runner.invoke(command, ["list", "--json"]).output)
    names = [plugin["name"] for plugin in listed["plugins"]]
    assert names == ["manual", "notification"]
    assert listed["plugins"][0]["actions"][0]["inputs_schema"]["$ref"]


def test_cli_lists_a_broken_plugin_with_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVFLOW_PLUGINS_ALLOW", "absent,manual")
    result = CliRunner().invoke(command, ["list"])
    assert result.exit_code == 0, result.output
    assert "absent: allowed but not installed" in result.output
    assert "manual" in result.output


TEMPLATED = """
name: templated
title: Templated
department: permits
steps:
  - id: tell
    uses: ./steps/tell.yaml
    with:
      message: "from the workflow"
"""


def test_rehearse_reads_step_templates_beside_the_workflow_file(tmp_path: Path) -> None:
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "tell.yaml").write_text(
        "action: notification\nwith:\n  channel: log\n  message: from the template\n"
    )
    run = rehearse(TEMPLATED, {}, {"tell": {}}, path=tmp_path / "templated.yaml")
    assert run.status is ExecutionStatus.COMPLETED
    assert run.params["tell"] == {"channel": "log", "message": "from the workflow"}


def test_rehearse_refuses_a_template_outside_the_workflow_folder(tmp_path: Path) -> None:
    (tmp_path / "tell.yaml").write_text("action: notification\nwith: {channel: log}\n")
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "steps").mkdir()
    (folder / "steps" / "tell.yaml").symlink_to(tmp_path / "tell.yaml")
    with pytest.raises(SpecError, match="resolves outside the workflows folder"):
        rehearse(TEMPLATED, {}, {"tell": {}}, path=folder / "templated.yaml")
    with pytest.raises(SpecError, match=r"steps\[0\]\.uses"):
        rehearse(TEMPLATED, {}, {"tell": {}})
