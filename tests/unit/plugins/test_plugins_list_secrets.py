"""``govflow plugins list`` marks secret settings as secret and masks them, a list of secrets
(``WEBHOOK_SECRETS``) as a whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from govflow.cli.main import cli

BILLING = "billing-signing-secret-1"
OPS = "ops-signing-secret-22222"
TOKEN = "jira-token-never-shown"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVFLOW_PLUGINS_ALLOW", "notification,jira")
    monkeypatch.delenv("GOVFLOW_PLUGINS_MODULES", raising=False)
    for name in [*os.environ]:
        if "NOTIFICATION_" in name or "JIRA_" in name:
            monkeypatch.delenv(name)
    monkeypatch.setenv("GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS", f"billing={BILLING},ops={OPS}")
    monkeypatch.setenv("JIRA_API_TOKEN", TOKEN)
    return monkeypatch


def test_a_list_of_secrets_is_masked_and_labelled_secret(env: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(cli, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    notification = {s["name"]: s for s in plugins["notification"]["settings"]}
    secrets = notification["webhook_secrets"]
    assert secrets["secret"] is True
    assert secrets["value"] == "***"
    assert notification["webhook_allowlist"]["secret"] is False
    token = {s["name"]: s for s in plugins["jira"]["settings"]}["api_token"]
    assert (token["secret"], token["value"]) == (True, "***")
    for text in (BILLING, OPS, "billing", TOKEN):
        assert text not in result.output

    table = CliRunner().invoke(cli, ["plugins", "list"])
    assert table.exit_code == 0, table.output
    (row,) = [line for line in table.output.splitlines() if "WEBHOOK_SECRETS" in line]
    assert "(secret)" in row
    assert row.rstrip().endswith("***")
    (row,) = [line for line in table.output.splitlines() if "JIRA_API_TOKEN" in line]
    assert "secret" in row.split()
    assert row.rstrip().endswith("***")
    for text in (BILLING, OPS, "billing=", TOKEN):
        assert text not in table.output
