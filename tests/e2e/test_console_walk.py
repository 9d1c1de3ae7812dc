"""The newcomer's walk: after ``govflow up`` (what ``make up`` runs), the demo users printed by
the banner carry ``building-permit`` to COMPLETED in the browser alone, and the bundled Jira
emulator ``up`` started receives the comment and the transition once each.

A real ``govflow up`` on a fresh data folder (embedded PostgreSQL and Redis, API, worker,
scheduler, the Jira emulator), driven by the browser tests' headless Chromium.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from govflow.cli.up_jira import configured_jira_site, plan_jira_emulator
from govflow.core.statuses import ExecutionStatus, HumanTaskStatus
from govflow.devtools.jira_emulator import AppliedTransition, Issue, ReceivedRequest
from govflow.settings import Mode, Settings
from tests.browser.conftest import browser, screenshots
from tests.browser.console import Console
from tests.e2e.test_up import free_port, home, up_env, wait_ready

pytestmark = pytest.mark.e2e

__all__ = ["browser", "home", "screenshots"]  # fixtures shared with tests/browser and test_up

ISSUE = "PERMIT-7"
JIRA_LINE = re.compile(r"^  Jira: +the bundled emulator on (?P<url>http://\S+) ", re.MULTILINE)
USER_LINE = re.compile(
    r"^  (?P<role>ADMIN|MANAGER|OPERATOR) +(?P<email>\S+) +password: (?P<password>\S+)$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Running:
    """``govflow up`` as a newcomer sees it: the console's address, the demo users, Jira."""

    url: str
    passwords: dict[str, tuple[str, str]]
    jira_url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def up(home: Path, tmp_path: Path) -> Iterator[Running]:
    """``govflow up`` in development mode with no JIRA_BASE_URL, its banner read from its
    output; stopped with SIGTERM at the end (it must exit 0)."""
    port = free_port()
    env = up_env(home, port)
    for name in [name for name in env if name.startswith("JIRA_")]:
        del env[name]
    env["PYTHONUNBUFFERED"] = "1"
    log = tmp_path / "up.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "govflow", "up"],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(port, process)  # type: ignore[arg-type]
        banner = log.read_text()
        jira = JIRA_LINE.search(banner)
        assert jira, banner
        users = {m["role"]: (m["email"], m["password"]) for m in USER_LINE.finditer(banner)}
        assert {"MANAGER", "OPERATOR"} <= set(users), banner
        yield Running(f"http://127.0.0.1:{port}", users, jira["url"], process, log)
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()[-3000:]


def _status(console: Console, css: str) -> str:
    return console.find(css).text


def _open_task(console: Console) -> None:
    """Open the first task the inbox lists as eligible for the signed-in user, reloading the
    page until the worker has created it."""

    def listed() -> bool:
        console.visit("/ui/tasks?box=eligible")
        return console.has('main table a[href^="/ui/tasks/"]')

    console.wait(listed, timeout=60)
    console.find('main table a[href^="/ui/tasks/"]').click()
    console.wait(lambda: console.has("#task-status"))


def _jira(url: str, path: str, kind: type) -> object:
    answer = httpx.get(f"{url}/_emulator/{path}", timeout=10)
    assert answer.status_code == 200, answer.text
    return msgspec.json.decode(answer.content, type=kind)


def test_a_newcomer_carries_building_permit_to_completed_in_the_browser(
    up: Running, browser: WebDriver, screenshots: Path
) -> None:
    console = Console(browser, up.url, screenshots)
    console.sign_out_everywhere()
    operator, manager = up.passwords["OPERATOR"], up.passwords["MANAGER"]

    console.sign_in(*operator)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    console.visit("/ui/workflows")
    console.find('a[aria-label="Start building-permit"]').click()
    console.wait(lambda: console.has("#input-issue_key"))
    console.fill("input.issue_key", ISSUE)
    console.fill("input.applicant", "Ada Lovelace")
    console.shot("walk-start")
    console.button("Start building-permit").click()
    console.wait(lambda: console.path.startswith("/ui/executions/"))
    execution_path = console.path.split("?", 1)[0]
    # The page refreshes itself; once the review waits, its step links to the task.
    console.wait(lambda: console.has("#task-of-review"), timeout=60)
    console.shot("walk-waiting")
    console.find("#task-of-review").click()
    console.wait(lambda: console.has("#task-status"))
    for button, after in (
        ("Claim", HumanTaskStatus.ASSIGNED),
        ("Start", HumanTaskStatus.IN_PROGRESS),
        ("Submit", HumanTaskStatus.SUBMITTED),
    ):
        console.wait(lambda button=button: button in console.buttons())
        console.button(button).click()
        console.wait(lambda after=after: _status(console, "#task-status") == after.value)
    console.sign_out()

    console.sign_in(*manager)
    console.wait(lambda: console.path.startswith("/ui/tasks"))
    _open_task(console)
    console.wait(lambda: "Approve" in console.buttons())
    console.fill("comment", "Plans conform.")
    console.shot("walk-review")
    console.button("Approve").click()
    console.wait(lambda: _status(console, "#task-status") == HumanTaskStatus.CLOSED.value)

    console.visit(execution_path)
    console.wait(
        lambda: _status(console, "#execution-status") == ExecutionStatus.COMPLETED.value,
        timeout=90,
    )
    # A page drawn while the execution ran is drawn again once it ended: no stale actions.
    console.wait(lambda: "Cancel the execution" not in console.buttons())
    console.shot("walk-completed")
    timeline = console.find("main").text
    for step in ("review", "notify", "comment", "close"):
        assert step in timeline

    issue = _jira(up.jira_url, f"issues/{ISSUE}", Issue)
    assert isinstance(issue, Issue)
    assert issue.status == "Done"
    [comment] = issue.comments
    assert comment.text.startswith("Permit approved by ")
    applied = _jira(up.jira_url, "transitions", list[AppliedTransition])
    assert isinstance(applied, list)
    assert [(t.issue_key, t.to_status) for t in applied] == [(ISSUE, "Done")]
    received = _jira(up.jira_url, "requests", list[ReceivedRequest])
    assert isinstance(received, list)
    writes = [(r.method, r.path) for r in received if r.method == "POST"]
    assert sorted(writes) == [
        ("POST", f"/rest/api/3/issue/{ISSUE}/comment"),
        ("POST", f"/rest/api/3/issue/{ISSUE}/transitions"),
    ]
    assert {r.status for r in received} <= {200, 201, 204}


def test_only_development_without_jira_base_url_gets_the_emulator(tmp_path: Path) -> None:
    common = {"govflow_home": tmp_path, "_env_file": None}
    development = Settings(mode=Mode.DEVELOPMENT, **common)
    plan = plan_jira_emulator(development, None)
    assert plan is not None
    assert plan.env() == {
        "JIRA_ENABLED": "true",
        "JIRA_BASE_URL": f"http://127.0.0.1:{plan.port}",
        "JIRA_EMAIL": "govflow@example.com",
        "JIRA_API_TOKEN": "emulator-token",
    }
    assert plan.projects == ("PERMIT", "INC")
    assert plan_jira_emulator(development, "https://x.atlassian.net") is None
    site = configured_jira_site({"GOVFLOW_JIRA_BASE_URL": "https://x.atlassian.net"})
    assert site == "https://x.atlassian.net"
    assert (
        configured_jira_site({"JIRA_BASE_URL": "https://y.example.org"}) == "https://y.example.org"
    )
    assert configured_jira_site({}) is None
    production = Settings(
        mode=Mode.PRODUCTION,
        jwt_secret="s" * 40,
        database_url="postgresql://u@db/govflow",
        redis_url="redis://redis:6379/0",
        audit_seal_key="k" * 40,
        **common,
    )
    assert plan_jira_emulator(production, None) is None
