"""A third-party plugin, pip-installed (docs/examples/govflow-hello), is listed by ``govflow
plugins list`` with its settings masked, and works through the test kit as a host runs it:
typed settings, a client built at startup, ``ctx.http``, ``retry_after`` and a heartbeat, against
a real idempotent HTTP service on loopback."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from govflow.plugins import BusinessError, Idempotency, PluginError, PluginManager, TechnicalError
from govflow.testing import make_context, rehearse, run_action, started_plugin
from tests.support.peers import WebhookReceiver

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

TOKEN = "board-t0ken-never-shown"

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


def test_listed_by_the_cli_with_its_settings_masked(site: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), *sys.path[1:]]),
        "GOVFLOW_HELLO_BOARD_URL": "https://board.example/greetings",
        "GOVFLOW_HELLO_BOARD_TOKEN": TOKEN,
    }
    env.pop("GOVFLOW_PLUGINS_ALLOW", None)
    result = subprocess.run(
        [sys.executable, "-c", "from govflow.cli.main import main; main()", "plugins", "list",
         "--json"],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert TOKEN not in result.stdout + result.stderr
    plugins = {plugin["name"]: plugin for plugin in json.loads(result.stdout)["plugins"]}
    hello = plugins["hello"]
    assert hello["distribution"] == "govflow-hello"
    assert hello["version"] == "1.1.0"
    assert hello["broken"] == []
    actions = {action["name"]: action for action in hello["actions"]}
    assert actions["hello_greet"]["idempotency"] == "none"
    assert actions["hello_post"]["idempotency"] == "remote_key"
    assert "name" in json.dumps(actions["hello_post"]["inputs_schema"])
    settings = {setting["name"]: setting for setting in hello["settings"]}
    assert settings["board_token"] | {"also": []} == {
        "name": "board_token",
        "variable": "GOVFLOW_HELLO_BOARD_TOKEN",
        "also": [],
        "type": "secret",
        "required": False,
        "secret": True,
        "default": None,
        "value": "***",
    }
    assert settings["board_url"]["also"] == ["GOVFLOW_PLUGIN_HELLO_BOARD_URL", "HELLO_BOARD_URL"]
    assert settings["greeting"]["default"] == "Hello"
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


@pytest.fixture
async def board() -> AsyncIterator[WebhookReceiver]:
    """The greetings board: an idempotent JSON endpoint on loopback."""
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def board_env(board: WebhookReceiver, **extra: str) -> dict[str, str]:
    return {"GOVFLOW_HELLO_BOARD_URL": board.url, "GOVFLOW_HELLO_BOARD_TOKEN": TOKEN, **extra}


async def test_settings_reach_startup_and_the_actions(site: Path, board: WebhookReceiver) -> None:
    """The board client is built once from the typed settings; the post goes through the
    host's client with the token and the step's key; a retry is deduplicated by the board."""
    hello = importlib.import_module("govflow_hello")
    env = board_env(board, HELLO_BOARD_URL=board.url, GOVFLOW_HELLO_GREETING="Hi")
    progress: list[object] = []

    async def sink(value: object) -> None:
        progress.append(value)

    async with started_plugin(hello, name="hello", env=env) as plugin:
        assert isinstance(plugin.resources, hello.Board)
        assert TOKEN not in repr(plugin.resources)
        assert TOKEN not in repr(plugin.settings)
        output = await plugin.run("hello_post", {"name": "Ada"}, heartbeat_sink=sink)
        again = await plugin.run("hello_post", {"name": "Ada"}, attempt=2)
        assert await plugin.run("hello_greet", {"name": "Ben"}) == {"greeting": "Hi, Ben"}
    assert output == {"greeting": "Hi, Ada", "posted": True, "status_code": 202}
    assert again == output
    assert progress == [{"posting": "Hi, Ada"}]
    (delivery,) = board.deliveries
    assert delivery.payload == {"greeting": "Hi, Ada"}
    assert delivery.headers["authorization"] == f"Bearer {TOKEN}"
    assert delivery.key == make_context().idempotency_key
    assert board.replays == 1


async def test_a_busy_board_asks_for_a_retry_after(site: Path, board: WebhookReceiver) -> None:
    hello = importlib.import_module("govflow_hello")
    board.fail_next(429, retry_after="7")
    async with started_plugin(hello, name="hello", env=board_env(board)) as plugin:
        with pytest.raises(TechnicalError) as caught:
            await plugin.run("hello_post", {"name": "Ada"})
        assert caught.value.retry_after == 7.0
        assert caught.value.details == {"status_code": 429}
        board.fail_next(400)
        with pytest.raises(BusinessError, match="refused the greeting with 400"):
            await plugin.run("hello_post", {"name": "Ada"}, attempt=2)
    assert board.deliveries == []


async def test_without_a_board_posting_is_a_business_error(site: Path) -> None:
    hello = importlib.import_module("govflow_hello")
    async with started_plugin(hello, name="hello") as plugin:
        assert plugin.resources is None
        with pytest.raises(BusinessError, match="GOVFLOW_HELLO_BOARD_URL"):
            await plugin.run("hello_post", {"name": "Ada"})


async def test_malformed_settings_name_the_variable_never_the_secret(site: Path) -> None:
    hello = importlib.import_module("govflow_hello")
    env = {"GOVFLOW_HELLO_BOARD_TOKEN": TOKEN, "GOVFLOW_HELLO_TIMEOUT": "forever"}
    with pytest.raises(PluginError) as caught:
        async with started_plugin(hello, name="hello", env=env):
            pass
    message = str(caught.value)
    assert "GOVFLOW_HELLO_TIMEOUT: Expected `float`, got `str`" in message
    assert TOKEN not in message
    with pytest.raises(PluginError, match="BOARD_TOKEN is set without GOVFLOW_HELLO_BOARD_URL"):
        async with started_plugin(hello, name="hello", env={"GOVFLOW_HELLO_BOARD_TOKEN": TOKEN}):
            pass
