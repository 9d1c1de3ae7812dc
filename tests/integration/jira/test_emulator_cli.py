"""``govflow dev jira-emulator`` as a child process: it starts on a free port, serves the Jira
API and the control API, reads a seed file, refuses a bad seed or a taken port in one line, and
stops on SIGINT; the seed docs/jira-emulator.md shows is served as it says."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from govflow.cli.main import cli
from govflow.devtools.jira_emulator import JiraEmulator, JiraEmulatorProcess, JiraError, parse_seed
from tests.support.doc_examples import ROOT, blocks
from tests.support.jira.validation import validate_exchange

API = "/rest/api/3"
DOC = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "From the CLI."}]}],
}


def test_the_command_serves_the_default_seed_and_stops_on_sigint() -> None:
    with JiraEmulatorProcess() as emulator:
        assert emulator.url.startswith("http://127.0.0.1:")
        with httpx.Client(
            base_url=emulator.url, auth=("govflow@example.com", "emulator-token")
        ) as jira:
            me = validate_exchange(jira.get(f"{API}/myself"))
            assert me.json()["emailAddress"] == "govflow@example.com"
            issue = validate_exchange(jira.get(f"{API}/issue/INC-7", params={"fields": "status"}))
            assert issue.json()["fields"]["status"]["name"] == "Open"
            made = jira.post(
                f"{API}/issue/PERMIT-42/comment",
                json={"body": DOC, "properties": [{"key": "govflow", "value": {"key": "k"}}]},
            )
            validate_exchange(made)
            emulator.rate_limit(retry_after=4, path=r"/transitions$")
            limited = validate_exchange(jira.get(f"{API}/issue/PERMIT-42/transitions"))
            assert (limited.status_code, limited.headers["retry-after"]) == (429, "4")
            hidden = validate_exchange(jira.get(f"{API}/issue/PERMIT-99"))
            assert hidden.status_code == 404
        (comment,) = emulator.comments("PERMIT-42")
        assert (comment.text, comment.properties) == ("From the CLI.", {"govflow": {"key": "k"}})
        assert [r.status for r in emulator.requests()] == [200, 200, 201, 429, 404]
        assert emulator.faults() == []
        added = emulator.add_issue("INC", summary="Added")
        assert added.key == "INC-21"
        emulator.drop_before_apply(method="PUT")
        assert [f.fault.kind for f in emulator.faults()] == ["drop_before_apply"]
        emulator.clear_faults()
        emulator.reset()
        assert emulator.comments("PERMIT-42") == []
        with pytest.raises(JiraError) as missing:
            emulator.issue("INC-21")
        assert missing.value.status == 404
        process = emulator.process
    assert process is not None
    assert process.returncode == 0


def test_the_command_reads_a_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "jira.yaml"
    seed.write_text(
        "users:\n"
        "  - {email: dev@example.org, api_token: s3cret}\n"
        "projects:\n"
        "  - key: CASE\n"
        "    name: Cases\n"
        "    statuses: [{name: New, category: new}, {name: Filed, category: done}]\n"
        "    transitions: [{id: '5', name: File, from: [New], to: Filed}]\n"
        "    issues: [{key: CASE-12, summary: A case}]\n",
        encoding="utf-8",
    )
    with JiraEmulatorProcess(seed) as emulator:
        with httpx.Client(base_url=emulator.url, auth=("dev@example.org", "s3cret")) as jira:
            listed = validate_exchange(jira.get(f"{API}/issue/CASE-12/transitions"))
            assert [t["id"] for t in listed.json()["transitions"]] == ["5"]
            moved = jira.post(f"{API}/issue/CASE-12/transitions", json={"transition": {"id": "5"}})
            assert validate_exchange(moved).status_code == 204
            assert jira.get(f"{API}/issue/PERMIT-1").status_code == 404
        assert emulator.issue("CASE-12").status == "Filed"
        assert [t.to_status for t in emulator.transitions("CASE-12")] == ["Filed"]


@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        ("users: []\n", "$.users"),
        ("users: [{email: a@b.c, api_token: t}]\nprojects: [{key: x, name: X}]\n", "$.projects[0]"),
        (
            "users: [{email: a@b.c, api_token: t}]\n"
            "projects: [{key: AB, name: X, statuses: [{name: Open}], "
            "transitions: [{id: '1', name: Go, to: Gone}]}]\n",
            "projects[0].transitions[0]: unknown status 'Gone'",
        ),
        (
            "users: [{email: a@b.c, api_token: t}]\n"
            "projects: [{key: AB, name: X, statuses: [{name: Open}], issues: [{key: CD-1}]}]\n",
            "projects[0].issues[0].key: 'CD-1' is not AB-<number>",
        ),
        ("users: [unclosed\n", "not YAML or JSON"),
    ],
    ids=["no-users", "bad-project-key", "unknown-status", "foreign-issue", "not-yaml"],
)
def test_a_bad_seed_is_refused_in_one_line(tmp_path: Path, seed: str, problem: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(seed, encoding="utf-8")
    result = CliRunner().invoke(cli, ["dev", "jira-emulator", "--port", "0", "--seed", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"govflow: seed: {path}: ")
    assert problem in result.output


def test_a_taken_port_is_refused_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "govflow", "dev", "jira-emulator", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == (
        f"govflow: the Jira emulator cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def _documented_seed() -> str:
    text = (ROOT / "docs" / "jira-emulator.md").read_text(encoding="utf-8")
    (block,) = [b for b in blocks(ROOT / "docs" / "jira-emulator.md") if b.lang == "json"]
    assert block.text in text
    return block.text


async def test_the_documented_seed_is_served_as_described() -> None:
    """docs/jira-emulator.md's seed: transitions from their statuses, the screen's fields,
    ``issue_count`` issues and a sealed one."""
    seed = parse_seed(json.loads(_documented_seed()))
    async with JiraEmulator(seed) as emulator:
        auth = ("dev@example.org", "dev-token")
        async with httpx.AsyncClient(base_url=emulator.url, auth=auth) as jira:
            ten = await jira.get(f"{API}/issue/CASE-10", params={"fields": "status"})
            assert validate_exchange(ten).json()["fields"]["status"]["name"] == "New"
            assert (await jira.get(f"{API}/issue/CASE-11")).status_code == 404
            assert (await jira.get(f"{API}/issue/CASE-99")).status_code == 404
            filed = await jira.post(
                f"{API}/issue/CASE-3/transitions",
                json={"transition": {"id": "6"}, "fields": {"resolution": {"name": "Done"}}},
            )
            assert validate_exchange(filed).status_code == 204
            restart = await jira.post(
                f"{API}/issue/CASE-3/transitions", json={"transition": {"id": "5"}}
            )
            assert validate_exchange(restart).status_code == 400
    assert emulator.issue("CASE-3").status == "Filed"
    assert emulator.issue("CASE-99").visible_to == []
