"""A third-party plugin, pip-installed, is listed by ``govflow plugins list`` and usable."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from govflow.plugins import Idempotency, PluginManager
from govflow.testing import rehearse, run_action

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "govflow-hello"

WORKFLOW = """
name: greeting
title: Greet the applicant
department: front-desk
inputs:
  applicant: {type: string}
steps:
  - id: greet
    action: hello_greet
    with: {name: "{{ inputs.applicant }}"}
  - id: tell
    action: notification
    with: {channel: log, message: "{{ steps.greet.output.greeting }}"}
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example installed into a private directory put on ``sys.path`` (the venv stays
    clean)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--no-build-isolation", "--no-index", "--target", str(target), str(EXAMPLE)],
        check=True,
    )  # fmt: skip
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("govflow_hello", None)


def test_listed_by_the_cli(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path[1:]])}
    env.pop("GOVFLOW_PLUGINS_ALLOW", None)
    result = subprocess.run(
        [sys.executable, "-c", "from govflow.cli.main import main; main()", "plugins", "list",
         "--json"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}
    hello = plugins["hello"]
    assert hello["distribution"] == "govflow-hello"
    assert hello["version"] == "1.0.0"
    (action,) = hello["actions"]
    assert action["name"] == "hello_greet"
    assert action["idempotency"] == "none"
    assert "name" in json.dumps(action["inputs_schema"])
    assert {"manual", "notification", "jira"} <= set(plugins)


async def test_usable_through_the_test_kit(site: Path) -> None:
    registry = PluginManager.from_env({"GOVFLOW_PLUGINS_ALLOW": "hello,notification"}).actions()
    action = registry.get("hello_greet")
    assert action is not None
    assert registry.owner("hello_greet") == "hello"
    assert action.idempotency is Idempotency.NONE
    assert await run_action(action, {"name": "Ada"}) == {"greeting": "Hello, Ada"}
    run = rehearse(
        WORKFLOW, {"applicant": "Ada"}, {"greet": {"greeting": "Hello, Ada"}, "tell": {}},
        actions=registry,
    )  # fmt: skip
    assert run.sequence == ["greet", "tell"]
    assert run.params["tell"] == {"channel": "log", "message": "Hello, Ada"}
