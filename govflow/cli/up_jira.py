"""``govflow up`` in development mode without ``JIRA_BASE_URL``: the bundled Jira emulator.

So that the shipped Jira workflows (``building-permit``, ``incident-follow-up``) run to the end
on a fresh machine, ``up`` then starts ``govflow dev jira-emulator`` on a free loopback port as
one of its children and gives the API, the worker and the scheduler Jira's settings pointing at
it (``JIRA_ENABLED``, ``JIRA_BASE_URL``, ``JIRA_EMAIL``, ``JIRA_API_TOKEN``: the default seed's
first account). In production mode, or with the ``jira`` plugin's site set (``JIRA_BASE_URL`` or
``GOVFLOW_JIRA_BASE_URL``), nothing is started and Jira is what the settings say.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from govflow.devtools.jira_emulator import default_seed
from govflow.plugins import PluginManager
from govflow.settings import Settings

LOOPBACK = "127.0.0.1"
READY_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class JiraEmulatorPlan:
    """Where the emulator will listen and the account the workers use."""

    port: int
    email: str
    api_token: str
    projects: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-m", "govflow", "dev", "jira-emulator", "--host", LOOPBACK,
                "--port", str(self.port)]  # fmt: skip

    def env(self) -> dict[str, str]:
        """Jira's settings for the processes ``up`` spawns."""
        return {
            "JIRA_ENABLED": "true",
            "JIRA_BASE_URL": self.url,
            "JIRA_EMAIL": self.email,
            "JIRA_API_TOKEN": self.api_token,
        }


def configured_jira_site(env: Mapping[str, str]) -> str | None:
    """The Jira site the ``jira`` plugin's settings give in ``env``, if any."""
    jira = PluginManager.from_env(env).settings(env).for_plugin("jira")
    site = getattr(jira, "base_url", None)
    return site if isinstance(site, str) else None


def plan_jira_emulator(settings: Settings, jira_site: str | None) -> JiraEmulatorPlan | None:
    """The emulator to start: only in development mode with no Jira site configured
    (``jira_site``: :func:`configured_jira_site`)."""
    if not settings.is_development or jira_site:
        return None
    seed = default_seed()
    user = seed.users[0]
    port = settings.port
    while port == settings.port:  # the API's port is free until the API binds it
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
    return JiraEmulatorPlan(
        port=port,
        email=user.email,
        api_token=user.api_token,
        projects=tuple(project.key for project in seed.projects),
    )


def wait_until_serving(
    plan: JiraEmulatorPlan,
    process: subprocess.Popen[bytes],
    timeout: float = READY_TIMEOUT_SECONDS,
) -> None:
    """Return once the emulator answers its health check.

    :raises RuntimeError: it exited, or did not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the Jira emulator exited ({process.returncode})")
        try:
            if httpx.get(f"{plan.url}/_emulator/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Jira emulator did not answer on {plan.url} within {timeout}s")
        time.sleep(0.1)
