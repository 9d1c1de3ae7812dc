"""The Jira emulator's REST routes, each exchange validated against Atlassian's OpenAPI document
(tests/support/jira_api): every documented operation, Basic auth, hidden issues, workflow
transitions, comments with properties and their paging, entity properties, refusals."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from govflow.devtools.jira_emulator import JiraEmulator, parse_seed
from tests.support.jira.fixtures import ValidatedJira, jira_client
from tests.support.jira.validation import (
    SpecViolation,
    _document,
    validate_exchange,
    validate_request,
    validate_response,
)

API = "/rest/api/3"
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def doc(text: str) -> dict[str, Any]:
    """A one-paragraph Atlassian Document."""
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def jira_error(response: httpx.Response) -> tuple[int, list[str], dict[str, str]]:
    body = response.json()
    assert set(body) == {"errorMessages", "errors"}, body
    return response.status_code, body["errorMessages"], body["errors"]


async def comment(jira_api: ValidatedJira, issue: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await jira_api.post(
        f"{API}/issue/{issue}/comment", json={"body": doc(text), **extra}
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- every operation ------------------------------------------------------------------------


async def test_every_documented_operation_is_answered_and_valid(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    """One successful call of each operation of the document; the validating transport checks
    each request and response, and the calls cover the document's operations exactly."""
    made = await comment(
        jira_api, "PERMIT-1", "Seen.", properties=[{"key": "k", "value": {"a": 1}}]
    )
    cid = made["id"]
    calls: list[tuple[str, str, str, Any, int]] = [
        ("GET", "/myself", "/myself", None, 200),
        ("GET", "/issue/PERMIT-1/comment", "/issue/{issueIdOrKey}/comment", None, 200),
        ("GET", f"/issue/PERMIT-1/comment/{cid}", "/issue/{issueIdOrKey}/comment/{id}", None, 200),
        ("GET", "/issue/PERMIT-1/transitions", "/issue/{issueIdOrKey}/transitions", None, 200),
        ("GET", "/issue/PERMIT-1?fields=status", "/issue/{issueIdOrKey}", None, 200),
        ("GET", f"/comment/{cid}/properties", "/comment/{commentId}/properties", None, 200),
        (
            "PUT",
            f"/comment/{cid}/properties/other",
            "/comment/{commentId}/properties/{propertyKey}",
            {"b": 2},
            201,
        ),
        (
            "GET",
            f"/comment/{cid}/properties/k",
            "/comment/{commentId}/properties/{propertyKey}",
            None,
            200,
        ),
        (
            "PUT",
            "/issue/PERMIT-1/properties/p",
            "/issue/{issueIdOrKey}/properties/{propertyKey}",
            [1],
            201,
        ),
        (
            "GET",
            "/issue/PERMIT-1/properties/p",
            "/issue/{issueIdOrKey}/properties/{propertyKey}",
            None,
            200,
        ),
        (
            "POST",
            "/issue/PERMIT-1/transitions",
            "/issue/{issueIdOrKey}/transitions",
            {"transition": {"id": "11"}},
            204,
        ),
    ]
    covered = {("POST", f"{API}/issue/{{issueIdOrKey}}/comment")}
    for method, path, template, body, status in calls:
        response = await jira_api.request(method, f"{API}{path}", json=body)
        assert response.status_code == status, (method, path, response.text)
        covered.add((method, f"{API}{template}"))
    documented = {
        (method.upper(), path)
        for path, operations in _document()["paths"].items()
        for method in operations
        if method != "parameters"
    }
    assert covered == documented
    assert jira_api.spec.exchanges == len(calls) + 1
    assert [(r.method, r.status) for r in jira_emulator.requests()][-1] == ("POST", 204)


async def test_the_validator_refuses_what_the_document_refuses(jira_api: ValidatedJira) -> None:
    """A request body and an answer the document refuses raise, naming the operation."""
    refused = httpx.Request(
        "POST",
        "http://127.0.0.1:9/rest/api/3/issue/PERMIT-1/transitions",
        json={"transition": {"id": "11"}, "properties": "not a list"},
    )
    with pytest.raises(SpecViolation, match="request POST /rest/api/3/issue/PERMIT-1/trans"):
        validate_request(refused)
    good = await jira_api.get(f"{API}/myself")
    bad = httpx.Response(200, json={**good.json(), "accountType": "robot"}, request=good.request)
    with pytest.raises(SpecViolation, match=r"accountType: 'robot' is not one of"):
        validate_response(good.request, bad)
    not_jira = httpx.Response(503, text="<html>down</html>", request=good.request)
    with pytest.raises(SpecViolation, match="errorMessages, errors"):
        validate_response(good.request, not_jira)
    with pytest.raises(SpecViolation, match="response 418"):
        validate_exchange(httpx.Response(418, json={}, request=good.request))


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"govflow@example.com:wrong-token").decode(),
        "Basic " + base64.b64encode(b"nobody@example.com:emulator-token").decode(),
        "Basic " + base64.b64encode(b"no colon").decode(),
        "Basic %%%",
        "Bearer emulator-token",
    ],
    ids=["none", "wrong-token", "unknown-email", "no-colon", "not-base64", "bearer"],
)
async def test_requests_without_valid_basic_credentials_get_401(
    jira_emulator: JiraEmulator, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    async with httpx.AsyncClient(base_url=jira_emulator.url) as client:
        for path in (f"{API}/myself", f"{API}/issue/PERMIT-1", f"{API}/issue/PERMIT-1/comment"):
            response = await client.get(path, headers=headers)
            assert jira_error(response) == (
                401,
                ["You are not authenticated. Authentication required to perform this operation."],
                {},
            )
            assert response.headers["www-authenticate"].startswith("Basic")
            validate_response(response.request, response)
        refused = await client.post(
            f"{API}/issue/PERMIT-1/comment", json={"body": doc("x")}, headers=headers
        )
    assert refused.status_code == 401
    assert jira_emulator.comments("PERMIT-1") == []


async def test_myself_is_the_signed_in_account(jira_emulator: JiraEmulator) -> None:
    async with jira_client(jira_emulator, auth=("admin@example.com", "admin-token")) as admin:
        me = (await admin.get(f"{API}/myself")).json()
    assert (me["emailAddress"], me["displayName"], me["active"]) == (
        "admin@example.com",
        "Jira Admin",
        True,
    )
    assert len(me["accountId"]) == 24


# -- issues ---------------------------------------------------------------------------------


async def test_issue_status_by_key_and_by_id(jira_api: ValidatedJira) -> None:
    by_key = (await jira_api.get(f"{API}/issue/PERMIT-3", params={"fields": "status"})).json()
    assert set(by_key["fields"]) == {"status"}
    assert by_key["fields"]["status"]["name"] == "To Do"
    assert by_key["fields"]["status"]["statusCategory"]["key"] == "new"
    by_id = (await jira_api.get(f"{API}/issue/{by_key['id']}", params={"fields": "status"})).json()
    assert by_id["key"] == "PERMIT-3"
    every = (await jira_api.get(f"{API}/issue/INC-2")).json()
    assert {"summary", "status", "project", "created", "updated"} <= set(every["fields"])
    assert every["fields"]["project"]["key"] == "INC"
    assert every["fields"]["status"]["name"] == "Open"


@pytest.mark.parametrize(
    "path",
    [
        "/issue/PERMIT-99",
        "/issue/PERMIT-99?fields=status",
        "/issue/PERMIT-99/comment",
        "/issue/PERMIT-99/transitions",
        "/issue/PERMIT-99/properties/k",
        "/issue/PERMIT-1000",
        "/issue/NOPE-1",
        "/issue/99999",
    ],
)
async def test_unknown_and_hidden_issues_are_404(jira_api: ValidatedJira, path: str) -> None:
    """PERMIT-99 is visible to admin@example.com only: for others it does not exist."""
    response = await jira_api.get(f"{API}{path}")
    assert jira_error(response) == (404, [NOT_FOUND], {})


async def test_a_hidden_issue_refuses_writes_and_shows_to_its_viewer(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    posted = await jira_api.post(f"{API}/issue/PERMIT-99/comment", json={"body": doc("x")})
    moved = await jira_api.post(
        f"{API}/issue/PERMIT-99/transitions", json={"transition": {"id": "11"}}
    )
    assert [posted.status_code, moved.status_code] == [404, 404]
    assert jira_emulator.comments("PERMIT-99") == []
    assert jira_emulator.transitions("PERMIT-99") == []
    async with jira_client(jira_emulator, auth=("admin@example.com", "admin-token")) as admin:
        shown = await admin.get(f"{API}/issue/PERMIT-99", params={"fields": "status"})
    assert shown.json()["key"] == "PERMIT-99"


# -- transitions ----------------------------------------------------------------------------


async def transition_ids(jira_api: ValidatedJira, issue: str) -> list[str]:
    listed = (await jira_api.get(f"{API}/issue/{issue}/transitions")).json()["transitions"]
    return [t["id"] for t in listed]


async def status_of(jira_api: ValidatedJira, issue: str) -> str:
    answer = (await jira_api.get(f"{API}/issue/{issue}", params={"fields": "status"})).json()
    name: str = answer["fields"]["status"]["name"]
    return name


async def test_transitions_are_valid_only_from_their_statuses(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    assert await transition_ids(jira_api, "PERMIT-2") == ["11", "21"]  # from To Do
    reopen = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "31"}}
    )
    assert jira_error(reopen) == (400, ["Transition id '31' is not valid for this issue."], {})
    assert await status_of(jira_api, "PERMIT-2") == "To Do"
    done = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "21"}}
    )
    assert (done.status_code, done.content) == (204, b"")
    assert await status_of(jira_api, "PERMIT-2") == "Done"
    assert await transition_ids(jira_api, "PERMIT-2") == ["31"]
    again = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "21"}}
    )
    assert again.status_code == 400
    unknown = await jira_api.post(
        f"{API}/issue/PERMIT-2/transitions", json={"transition": {"id": "7"}}
    )
    assert jira_error(unknown)[1] == ["Transition id '7' is not valid for this issue."]
    (applied,) = jira_emulator.transitions("PERMIT-2")
    assert (applied.from_status, applied.to_status, applied.by) == (
        "To Do",
        "Done",
        "govflow@example.com",
    )


async def test_a_transition_lists_its_target_and_screen(jira_api: ValidatedJira) -> None:
    listed = await jira_api.get(
        f"{API}/issue/INC-1/transitions",
        params={"expand": "transitions.fields", "transitionId": "21"},
    )
    (close,) = listed.json()["transitions"]
    assert (close["name"], close["to"]["name"], close["hasScreen"]) == ("Close", "Closed", True)
    assert set(close["fields"]) == {"resolution"}
    every = await jira_api.get(
        f"{API}/issue/INC-1/transitions", params={"includeUnavailableTransitions": "true"}
    )
    availability = {t["id"]: t["isAvailable"] for t in every.json()["transitions"]}
    assert availability == {"11": True, "21": True, "31": False}


async def test_a_transition_carries_properties_fields_and_a_comment(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    """The idempotency key travels in the transition request itself (IssueUpdateDetails)."""
    body = {
        "transition": {"id": "21"},
        "fields": {"resolution": {"name": "Done"}},
        "update": {"comment": [{"add": {"body": doc("Closed by GovFlow.")}}]},
        "properties": [{"key": "govflow.step", "value": {"key": "exec-1:resolve"}}],
    }
    moved = await jira_api.post(f"{API}/issue/INC-4/transitions", json=body)
    assert moved.status_code == 204
    stored = await jira_api.get(f"{API}/issue/INC-4/properties/govflow.step")
    assert stored.json() == {"key": "govflow.step", "value": {"key": "exec-1:resolve"}}
    issue = await jira_api.get(f"{API}/issue/INC-4", params={"properties": "*all"})
    assert issue.json()["properties"] == {"govflow.step": {"key": "exec-1:resolve"}}
    assert issue.json()["fields"]["resolution"] == {"name": "Done"}
    assert [c.text for c in jira_emulator.comments("INC-4")] == ["Closed by GovFlow."]
    (applied,) = jira_emulator.transitions("INC-4")
    assert applied.properties == {"govflow.step": {"key": "exec-1:resolve"}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, (400, ["Missing 'transition' identifier"], {})),
        ({"transition": {}}, (400, ["Missing 'transition' identifier"], {})),
        (
            {"transition": {"id": "21"}, "fields": {"assignee": {"name": "bob"}}},
            (
                400,
                [],
                {
                    "assignee": "Field 'assignee' cannot be set. "
                    "It is not on the appropriate screen, or unknown."
                },
            ),
        ),
        (
            {"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}},
            (
                400,
                [],
                {
                    "resolution": "Field 'resolution' cannot be set. "
                    "It is not on the appropriate screen, or unknown."
                },
            ),
        ),
        (
            {"transition": {"id": "21"}, "properties": [{"key": "k"}]},
            (400, [], {"properties[0]": "must be an object with key and value"}),
        ),
        (
            {"transition": {"id": "21"}, "properties": [{"key": "k", "value": "x" * 40_000}]},
            (400, ["The property value is too long: 32768 bytes of JSON max."], {}),
        ),
    ],
    ids=["no-transition", "no-id", "not-on-screen", "screenless", "property-no-value", "too-long"],
)
async def test_refused_transitions_change_nothing(
    jira_emulator: JiraEmulator, body: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    async with jira_client(jira_emulator) as client:
        validate = "properties" not in body or body["properties"][0].get("value") is not None
        if not validate:  # the document itself refuses this body; the emulator must too
            client = httpx.AsyncClient(base_url=jira_emulator.url, auth=client.auth)  # type: ignore[assignment]
        response = await client.post(f"{API}/issue/PERMIT-5/transitions", json=body)
        await client.aclose()
    assert jira_error(response) == expected
    assert jira_emulator.issue("PERMIT-5").status == "To Do"
    assert jira_emulator.issue("PERMIT-5").properties == {}
    assert jira_emulator.transitions() == []


# -- comments -------------------------------------------------------------------------------


async def test_comment_properties_round_trip(jira_api: ValidatedJira) -> None:
    """A comment created with properties in the same request shows them with
    ``expand=properties`` and through the comment-property routes; they can be changed."""
    made = await comment(
        jira_api,
        "PERMIT-7",
        "Approved.",
        properties=[{"key": "govflow", "value": {"key": "e:s:1"}}],
    )
    assert "properties" not in made
    listed = await jira_api.get(f"{API}/issue/PERMIT-7/comment", params={"expand": "properties"})
    (shown,) = listed.json()["comments"]
    assert shown["properties"] == [{"key": "govflow", "value": {"key": "e:s:1"}}]
    assert shown["body"] == doc("Approved.")
    without = await jira_api.get(f"{API}/issue/PERMIT-7/comment")
    assert "properties" not in without.json()["comments"][0]
    keys = await jira_api.get(f"{API}/comment/{made['id']}/properties")
    assert [k["key"] for k in keys.json()["keys"]] == ["govflow"]
    one = await jira_api.get(f"{API}/comment/{made['id']}/properties/govflow")
    assert one.json() == {"key": "govflow", "value": {"key": "e:s:1"}}
    changed = await jira_api.put(
        f"{API}/comment/{made['id']}/properties/govflow", json={"key": "v2"}
    )
    assert changed.status_code == 200  # updated, not created
    again = await jira_api.get(f"{API}/comment/{made['id']}/properties/govflow")
    assert again.json()["value"] == {"key": "v2"}
    missing = await jira_api.get(f"{API}/comment/{made['id']}/properties/absent")
    assert jira_error(missing) == (404, ["The property with key 'absent' does not exist."], {})
    rendered = await jira_api.get(
        f"{API}/issue/PERMIT-7/comment/{made['id']}", params={"expand": "renderedBody"}
    )
    assert rendered.json()["renderedBody"] == "<p>Approved.</p>"


async def test_comments_page_with_start_at_max_results_and_total(jira_api: ValidatedJira) -> None:
    for number in range(7):
        await comment(jira_api, "INC-3", f"Note {number}")

    async def page(**params: Any) -> tuple[int, int, int, list[str]]:
        answer = (await jira_api.get(f"{API}/issue/INC-3/comment", params=params)).json()
        texts = [c["body"]["content"][0]["content"][0]["text"] for c in answer["comments"]]
        return answer["startAt"], answer["maxResults"], answer["total"], texts

    assert await page(startAt=0, maxResults=3) == (0, 3, 7, ["Note 0", "Note 1", "Note 2"])
    assert await page(startAt=3, maxResults=3) == (3, 3, 7, ["Note 3", "Note 4", "Note 5"])
    assert await page(startAt=6, maxResults=3) == (6, 3, 7, ["Note 6"])
    assert await page(startAt=9, maxResults=3) == (9, 3, 7, [])
    assert await page(orderBy="-created", maxResults=2) == (0, 2, 7, ["Note 6", "Note 5"])
    assert (await page())[1:3] == (100, 7)


async def test_the_page_size_is_capped() -> None:
    small = JiraEmulator(parse_seed(_small_seed()), max_page=2)
    async with small, jira_client(small) as client:
        for number in range(3):
            await client.post(f"{API}/issue/TS-1/comment", json={"body": doc(str(number))})
        answer = (await client.get(f"{API}/issue/TS-1/comment", params={"maxResults": 50})).json()
    assert (answer["maxResults"], answer["total"], len(answer["comments"])) == (2, 3, 2)


def _small_seed() -> dict[str, Any]:
    return {
        "users": [{"email": "t@example.com", "api_token": "t"}],
        "projects": [
            {"key": "TS", "name": "Test", "statuses": [{"name": "Open"}], "issue_count": 1}
        ],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"startAt": "x"}, "The value 'x' of 'startAt' is not a number."),
        ({"maxResults": "-1"}, "'maxResults' must not be negative."),
    ],
)
async def test_malformed_paging_is_a_400(
    jira_emulator: JiraEmulator, params: dict[str, str], message: str
) -> None:
    user = jira_emulator.user
    async with httpx.AsyncClient(
        base_url=jira_emulator.url, auth=(user.email, user.api_token)
    ) as client:  # the document refuses these parameters itself
        response = await client.get(f"{API}/issue/PERMIT-1/comment", params=params)
    assert jira_error(response) == (400, [message], {})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", (400, [INVALID_PAYLOAD], {})),
        (b"[]", (400, [INVALID_PAYLOAD], {})),
        (b"{}", (400, [], {"comment": "Comment body can not be empty!"})),
        (
            json.dumps({"body": "plain text"}).encode(),
            (
                400,
                [],
                {
                    "comment": "Operation value must be an Atlassian Document "
                    "(see the Atlassian Document Format)"
                },
            ),
        ),
        (
            json.dumps(
                {"body": {"type": "doc", "version": 1, "content": [{"text": "x"}]}}
            ).encode(),
            (
                400,
                [],
                {
                    "comment": "Operation value must be an Atlassian Document "
                    "(see the Atlassian Document Format)"
                },
            ),
        ),
        (
            json.dumps({"body": {"type": "doc", "version": 1, "content": []}}).encode(),
            (400, [], {"comment": "Comment body can not be empty!"}),
        ),
        (
            json.dumps({"body": doc("x"), "properties": {"key": "k"}}).encode(),
            (400, [], {"properties": "must be a list of {key, value}"}),
        ),
        (
            json.dumps({"body": doc("x"), "properties": [{"key": "k" * 256, "value": 1}]}).encode(),
            (400, ["The property key is too long: 255 characters max."], {}),
        ),
        (
            json.dumps({"body": doc("x"), "visibility": {"type": "everyone"}}).encode(),
            (400, [], {"commentLevel": "The visibility type must be group or role."}),
        ),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-body",
        "plain-text",
        "node-without-type",
        "empty-doc",
        "properties-not-list",
        "key-too-long",
        "visibility",
    ],
)
async def test_refused_comments_are_not_stored(
    jira_emulator: JiraEmulator, content: bytes, expected: tuple[Any, ...]
) -> None:
    user = jira_emulator.user
    async with httpx.AsyncClient(
        base_url=jira_emulator.url, auth=(user.email, user.api_token)
    ) as client:  # some of these bodies the document refuses too
        response = await client.post(
            f"{API}/issue/PERMIT-8/comment",
            content=content,
            headers={"content-type": "application/json"},
        )
    assert jira_error(response) == expected
    assert jira_emulator.comments("PERMIT-8") == []


async def test_unknown_routes_and_media_types(jira_emulator: JiraEmulator) -> None:
    user = jira_emulator.user
    async with httpx.AsyncClient(
        base_url=jira_emulator.url, auth=(user.email, user.api_token)
    ) as client:
        unknown = await client.get(f"{API}/search")
        wrong_method = await client.delete(f"{API}/issue/PERMIT-1/comment")
        as_text = await client.post(
            f"{API}/issue/PERMIT-1/comment",
            content=json.dumps({"body": doc("x")}),
            headers={"content-type": "text/plain"},
        )
    assert jira_error(unknown)[0] == 404
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["allow"]
    assert jira_error(as_text) == (415, ["Unsupported Media Type"], {})
    assert jira_emulator.comments("PERMIT-1") == []


async def test_the_request_log_records_each_call(
    jira_api: ValidatedJira, jira_emulator: JiraEmulator
) -> None:
    await comment(jira_api, "PERMIT-4", "Logged.")
    await jira_api.get(f"{API}/issue/PERMIT-99")
    logged = jira_emulator.requests()
    assert [(r.method, r.path, r.status, r.user) for r in logged] == [
        ("POST", f"{API}/issue/PERMIT-4/comment", 201, "govflow@example.com"),
        ("GET", f"{API}/issue/PERMIT-99", 404, "govflow@example.com"),
    ]
    assert logged[0].json()["body"] == doc("Logged.")
