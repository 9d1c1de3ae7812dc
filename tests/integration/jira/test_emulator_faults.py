"""Faults injected into the Jira emulator, through its Python handle and its control API:
429 with Retry-After, 5xx, slow answers, and connections dropped before or after the write."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from govflow.devtools.jira_emulator import Fault, JiraEmulator
from tests.support.jira.fixtures import ValidatedJira, jira_client
from tests.support.peers import wait_until

API = "/rest/api/3"


def doc(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def comment_body(text: str, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"body": doc(text)}
    if key is not None:
        body["properties"] = [{"key": "govflow", "value": {"key": key}}]
    return body


async def test_rate_limit_answers_429_with_retry_after_for_the_next_n_requests(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.rate_limit(2, retry_after=7)
    first = await jira_api.post(f"{API}/issue/PERMIT-1/comment", json=comment_body("a"))
    second = await jira_api.get(f"{API}/myself")
    third = await jira_api.get(f"{API}/myself")
    for limited in (first, second):
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "7"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.headers["ratelimit-reason"]
        assert limited.json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert third.status_code == 200
    assert jira_emulator.comments("PERMIT-1") == []  # a refused write is not applied
    assert [r.fault for r in jira_emulator.requests()] == ["rate_limit", "rate_limit", None]
    assert jira_emulator.faults() == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_change_nothing(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator, status: int
) -> None:
    jira_emulator.fail(status=status, method="POST")
    failed = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "21"}}
    )
    assert failed.status_code == status
    assert set(failed.json()) == {"errorMessages", "errors"}
    assert jira_emulator.issue("PERMIT-2").status == "To Do"
    applied = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "21"}}
    )
    assert applied.status_code == 204
    assert jira_emulator.issue("PERMIT-2").status == "Done"


async def test_a_fault_applies_only_to_the_requests_it_matches(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.fail(method="POST", path=r"/transitions$")
    listed = await jira_api.get(f"{API}/issue/PERMIT-3/transitions")
    posted = await jira_api.post(f"{API}/issue/PERMIT-3/comment", json=comment_body("x"))
    assert [listed.status_code, posted.status_code] == [200, 201]
    assert len(jira_emulator.faults()) == 1
    moved = await jira_api.post(
        f"{API}/issue/PERMIT-3/transitions", json={"transition": {"id": "11"}}
    )
    assert moved.status_code == 503
    assert jira_emulator.faults() == []


async def test_a_slow_answer_takes_its_delay_and_holds_no_other_request(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.slow(0.6, path=r"/myself$")
    finished: list[str] = []

    async def call(path: str) -> int:
        response = await jira_api.get(f"{API}{path}")
        finished.append(path)
        return response.status_code

    started = time.monotonic()
    statuses = await asyncio.gather(call("/myself"), call("/issue/PERMIT-1"))
    assert statuses == [200, 200]
    assert time.monotonic() - started >= 0.6
    assert finished == ["/issue/PERMIT-1", "/myself"]


async def test_a_client_that_gives_up_on_a_slow_write_still_finds_it_applied(
    jira_emulator: JiraEmulator,
) -> None:
    """The write happens after the delay even though nobody waits for its answer: the lost
    answer GovFlow's remote_lookup strategy is for."""
    jira_emulator.slow(1.0, method="POST")
    async with jira_client(jira_emulator) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"{API}/issue/PERMIT-4/comment",
                json=comment_body("late", key="exec:step:1"),
                timeout=httpx.Timeout(10.0, read=0.2),
            )
    await wait_until(lambda: len(jira_emulator.comments("PERMIT-4")) == 1)
    assert jira_emulator.comments("PERMIT-4")[0].properties == {"govflow": {"key": "exec:step:1"}}


async def test_drop_after_apply_writes_then_loses_the_answer(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.drop_after_apply(method="POST", path=r"/comment$")
    with pytest.raises(httpx.TransportError) as lost:
        await jira_api.post(f"{API}/issue/PERMIT-5/comment", json=comment_body("once", "k1"))
    assert not isinstance(lost.value, httpx.TimeoutException)
    (stored,) = jira_emulator.comments("PERMIT-5")
    assert (stored.text, stored.properties) == ("once", {"govflow": {"key": "k1"}})
    (logged,) = jira_emulator.requests()
    assert (logged.status, logged.fault) == (None, "drop_after_apply")
    found = await jira_api.get(f"{API}/issue/PERMIT-5/comment", params={"expand": "properties"})
    assert [c["properties"] for c in found.json()["comments"]] == [
        [{"key": "govflow", "value": {"key": "k1"}}]
    ]


async def test_drop_after_apply_of_a_transition_moves_the_issue(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.drop_after_apply(method="POST", path=r"/transitions$")
    body = {"transition": {"id": "21"}, "properties": [{"key": "govflow.t", "value": {"k": 1}}]}
    with pytest.raises(httpx.TransportError):
        await jira_api.post(f"{API}/issue/INC-1/transitions", json=body)
    assert jira_emulator.issue("INC-1").status == "Closed"
    assert len(jira_emulator.transitions("INC-1")) == 1
    again = await jira_api.post(f"{API}/issue/INC-1/transitions", json=body)
    assert again.status_code == 400  # Close is not available from Closed
    assert len(jira_emulator.transitions("INC-1")) == 1


async def test_drop_before_apply_loses_the_request(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    jira_emulator.drop_before_apply(method="POST")
    with pytest.raises(httpx.TransportError):
        await jira_api.post(f"{API}/issue/PERMIT-6/comment", json=comment_body("never"))
    assert jira_emulator.comments("PERMIT-6") == []
    assert (
        await jira_api.post(f"{API}/issue/PERMIT-6/comment", json=comment_body("now"))
    ).is_success
    assert [c.text for c in jira_emulator.comments("PERMIT-6")] == ["now"]


# -- the control API ------------------------------------------------------------------------


async def test_faults_through_the_control_api(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    async with httpx.AsyncClient(base_url=f"{jira_emulator.url}/_emulator/") as control:
        added = await control.post(
            "faults", json={"kind": "rate_limit", "count": 3, "retry_after": 2}
        )
        assert added.status_code == 201
        assert (await control.get("faults")).json() == [{"fault": {**added.json()}, "remaining": 3}]
        assert (await jira_api.get(f"{API}/myself")).status_code == 429
        assert (await control.get("faults")).json()[0]["remaining"] == 2
        assert (await control.delete("faults")).status_code == 204
        assert (await jira_api.get(f"{API}/myself")).status_code == 200
        for refused, field in [
            ({"kind": "explode"}, "$.kind"),
            ({"kind": "error", "status": 404}, "$.status"),
            ({"kind": "slow", "count": 0}, "$.count"),
            ({"kind": "error", "surprise": 1}, "surprise"),
            ({"kind": "error", "path": "("}, "path is not a regular expression"),
        ]:
            answer = await control.post("faults", json=refused)
            assert answer.status_code == 400, refused
            assert field in answer.json()["errorMessages"][0], answer.json()
        assert (await control.post("faults", content=b"{")).status_code == 400
        assert jira_emulator.faults() == []


async def test_state_reads_and_reset_through_the_control_api(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    await jira_api.post(f"{API}/issue/PERMIT-9/comment", json=comment_body("hello", "k9"))
    await jira_api.post(f"{API}/issue/PERMIT-9/transitions", json={"transition": {"id": "11"}})
    async with httpx.AsyncClient(base_url=f"{jira_emulator.url}/_emulator/") as control:
        issue = (await control.get("issues/PERMIT-9")).json()
        assert issue["status"] == "In Review"
        assert [c["properties"] for c in issue["comments"]] == [{"govflow": {"key": "k9"}}]
        (applied,) = (await control.get("transitions")).json()
        assert (applied["issue_key"], applied["to_status"]) == ("PERMIT-9", "In Review")
        logged = (await control.get("requests")).json()
        assert [r["status"] for r in logged] == [201, 204]
        created = await control.post("issues", json={"project": "INC", "summary": "New"})
        assert created.json()["key"] == "INC-21"
        for body, field in [
            ({"project": "NOPE"}, "project"),
            ({"project": "INC", "key": "FOO"}, "key"),
            ({"project": "INC", "key": "INC-3"}, "key"),
            ({"project": "INC", "status": "Gone"}, "status"),
        ]:
            refused = await control.post("issues", json=body)
            assert refused.status_code == 400
            assert list(refused.json()["errors"]) == [field], refused.json()
        malformed = await control.post("issues", json={"summary": "no project"})
        assert "project" in malformed.json()["errorMessages"][0]
        assert (await control.get("issues/NOPE-1")).status_code == 404
        assert (await control.get("nothing")).status_code == 404
        jira_emulator.inject(Fault(kind="error"))
        assert (await control.post("reset")).status_code == 204
    assert jira_emulator.comments("PERMIT-9") == []
    assert jira_emulator.issue("PERMIT-9").status == "To Do"
    assert "INC-21" not in jira_emulator.state.issues
    assert (jira_emulator.transitions(), jira_emulator.requests(), jira_emulator.faults()) == (
        [],
        [],
        [],
    )
