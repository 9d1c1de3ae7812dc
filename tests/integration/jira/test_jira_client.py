"""The Jira client and the two Jira actions against the emulator (real HTTP on loopback), every
request and response validated against the vendored OpenAPI document; the rate cap and the
circuit breaker in the real Redis."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis
from govflow_jira import build_resources
from govflow_jira.actions import (
    JiraCommentAction,
    JiraCommentInputs,
    JiraTransitionAction,
    JiraTransitionInputs,
)
from govflow_jira.client import (
    COMMENT_PROPERTY,
    JiraClient,
    retry_after_seconds,
    transition_property,
)
from govflow_jira.config import JiraSettings
from govflow_jira.connection import check_connection
from govflow_jira.guard import CircuitState, RedisGuard
from govflow_jira.port import JiraResources

from govflow.core.audit_events import AuditEvent
from govflow.devtools.jira_emulator.handle import JiraEmulator
from govflow.plugins import BusinessError, TechnicalError
from govflow.plugins.settings import Secret
from govflow.testing import check_output, make_context
from tests.support.jira.validation import SpecValidatingTransport


@dataclass
class Jira:
    emulator: JiraEmulator
    transport: SpecValidatingTransport
    client: JiraClient
    guard: RedisGuard
    settings: JiraSettings

    def context(self, key: str = "exec-1:step", attempt: int = 1) -> Any:
        return make_context(
            idempotency_key=key,
            attempt=attempt,
            resources=JiraResources(self.settings, self.client),
        )


def jira_settings(url: str, **overrides: Any) -> JiraSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "base_url": url,
        "email": "govflow@example.com",
        "api_token": Secret("emulator-token"),
        "timeout_seconds": 2.0,
        "breaker_failures": 3,
        "breaker_cooldown_seconds": 1.0,
    }
    return JiraSettings(**(values | overrides))


@pytest.fixture
async def emulator() -> AsyncIterator[JiraEmulator]:
    async with JiraEmulator() as running:
        yield running


async def _jira(
    emulator: JiraEmulator, redis_url: str, prefix: str, **overrides: Any
) -> AsyncIterator[Jira]:
    settings = jira_settings(emulator.url, **overrides)
    transport = SpecValidatingTransport(httpx.AsyncHTTPTransport())
    guard = RedisGuard(
        aioredis.Redis.from_url(redis_url),
        rate_max=settings.rate_limit_max,
        rate_window_ms=settings.rate_limit_window_ms,
        breaker_failures=settings.breaker_failures,
        breaker_window_seconds=settings.breaker_window_seconds,
        breaker_cooldown_seconds=settings.breaker_cooldown_seconds,
        prefix=f"{prefix}:jira",
    )
    client = JiraClient(settings, guard, transport=transport)
    try:
        yield Jira(emulator, transport, client, guard, settings)
    finally:
        await client.aclose()
    transport.assert_clean()


@pytest.fixture
async def jira(emulator: JiraEmulator, redis_url: str, redis_namespace: str) -> AsyncIterator[Jira]:
    async for built in _jira(emulator, redis_url, redis_namespace):
        yield built


async def _attempt(work: Any) -> Any:
    """The attempt's output, or the ``TechnicalError`` it raised."""
    try:
        return await work
    except TechnicalError as exc:
        return exc


def events(ctx: Any) -> list[str]:
    return [event.action for event in ctx.recorded]


# -- jira_comment ----------------------------------------------------------------------------


async def test_a_comment_carries_its_key_in_the_same_request(jira: Jira) -> None:
    ctx = jira.context()
    params = JiraCommentInputs(issue="PERMIT-1", body="Permit **approved**.", format="markdown")

    output = await JiraCommentAction().execute(ctx, params)

    comments = jira.emulator.comments("PERMIT-1")
    assert len(comments) == 1
    assert output == {"issue": "PERMIT-1", "comment_id": comments[0].id}
    check_output(JiraCommentAction(), output)  # what it returns is its declared output
    assert comments[0].properties == {COMMENT_PROPERTY: {"key": "exec-1:step"}}
    paragraph = comments[0].body["content"][0]["content"]
    assert {"type": "text", "text": "approved", "marks": [{"type": "strong"}]} in paragraph
    posts = [r for r in jira.emulator.requests() if r.method == "POST"]
    assert len(posts) == 1
    assert posts[0].json()["properties"] == [
        {"key": COMMENT_PROPERTY, "value": {"key": "exec-1:step"}}
    ]
    assert posts[0].user == "govflow@example.com"
    assert events(ctx) == [AuditEvent.JIRA_COMMENT_ATTEMPTED, AuditEvent.JIRA_COMMENT_COMPLETED]


async def test_a_comment_with_visibility(jira: Jira) -> None:
    inputs = msgspec.convert(
        {"issue": "PERMIT-2", "body": "internal", "visibility": {"type": "role", "value": "Staff"}},
        JiraCommentInputs,
    )
    await JiraCommentAction().execute(jira.context(), inputs)

    assert jira.emulator.comments("PERMIT-2")[0].visibility == {"type": "role", "value": "Staff"}


async def test_lookup_finds_the_comment_whose_answer_was_lost(jira: Jira) -> None:
    jira.emulator.drop_after_apply(method="POST", path="/comment$")
    params = JiraCommentInputs(issue="PERMIT-3", body="Once only")
    first = jira.context()

    with pytest.raises(TechnicalError):
        await JiraCommentAction().execute(first, params)
    assert events(first) == [AuditEvent.JIRA_COMMENT_ATTEMPTED, AuditEvent.JIRA_COMMENT_FAILED]
    assert len(jira.emulator.comments("PERMIT-3")) == 1

    found = await JiraCommentAction().lookup(jira.context(attempt=2), params)
    retried = await JiraCommentAction().execute(jira.context(attempt=2), params)

    comment_id = jira.emulator.comments("PERMIT-3")[0].id
    assert found == {"issue": "PERMIT-3", "comment_id": comment_id}
    check_output(JiraCommentAction(), found)
    assert retried == found
    assert len(jira.emulator.comments("PERMIT-3")) == 1
    assert await JiraCommentAction().lookup(jira.context("another:key"), params) is None


async def test_lookup_pages_through_comments(
    emulator: JiraEmulator, redis_url: str, redis_namespace: str
) -> None:
    async for jira in _jira(emulator, redis_url, redis_namespace):
        params = JiraCommentInputs(issue="PERMIT-4", body="ours")
        await JiraCommentAction().execute(jira.context("old:key"), params)
        for number in range(205):
            await JiraCommentAction().execute(
                jira.context(f"noise:{number}"), JiraCommentInputs(issue="PERMIT-4", body="noise")
            )

        found = await JiraCommentAction().lookup(jira.context("old:key"), params)

        assert found is not None
        gets = [r for r in emulator.requests() if r.method == "GET" and r.path.endswith("/comment")]
        assert len(gets) == 3
        assert all("expand=properties" in r.query for r in gets)


async def test_jira_refusals_are_business_errors_with_its_messages(jira: Jira) -> None:
    ctx = jira.context()
    with pytest.raises(BusinessError, match="404") as refused:
        await JiraCommentAction().execute(ctx, JiraCommentInputs(issue="PERMIT-99", body="x"))

    assert "does not exist or you do not have permission" in str(refused.value)
    assert refused.value.details["status_code"] == 404
    assert events(ctx)[-1] == AuditEvent.JIRA_COMMENT_FAILED


async def test_a_wrong_token_is_a_business_error_that_never_shows_the_token(
    emulator: JiraEmulator, redis_url: str, redis_namespace: str
) -> None:
    async for jira in _jira(
        emulator, redis_url, redis_namespace, api_token=Secret("wrong-secret-token")
    ):
        with pytest.raises(BusinessError, match="401") as refused:
            await JiraCommentAction().execute(
                jira.context(), JiraCommentInputs(issue="PERMIT-1", body="x")
            )
        assert "wrong-secret-token" not in str(refused.value)
        assert "wrong-secret-token" not in repr(jira.client)
        assert "wrong-secret-token" not in repr(jira.settings)


# -- jira_transition -------------------------------------------------------------------------


async def test_a_transition_by_status_records_the_key_on_the_issue(jira: Jira) -> None:
    ctx = jira.context("exec-1:review")
    params = JiraTransitionInputs(issue="PERMIT-5", to_status="in review", comment="Under review")

    output = await JiraTransitionAction().execute(ctx, params)

    issue = jira.emulator.issue("PERMIT-5")
    assert issue.status == "In Review"
    assert output == {"issue": "PERMIT-5", "transition_id": "11", "to_status": "In Review"}
    check_output(JiraTransitionAction(), output)  # what it returns is its declared output
    assert issue.properties[transition_property("exec-1:review")]["key"] == "exec-1:review"
    assert [c.text for c in issue.comments] == ["Under review"]
    assert len(jira.emulator.transitions("PERMIT-5")) == 1
    assert events(ctx) == [
        AuditEvent.JIRA_TRANSITION_ATTEMPTED,
        AuditEvent.JIRA_TRANSITION_COMPLETED,
    ]


async def test_a_transition_by_id_with_fields(jira: Jira) -> None:
    params = JiraTransitionInputs(
        issue="PERMIT-6", transition_id="21", fields={"resolution": {"name": "Done"}}
    )

    output = await JiraTransitionAction().execute(jira.context(), params)

    assert output["to_status"] == "Done"
    assert jira.emulator.issue("PERMIT-6").status == "Done"


async def test_an_unreachable_status_names_the_available_transitions(jira: Jira) -> None:
    await JiraTransitionAction().execute(
        jira.context("k:1"), JiraTransitionInputs(issue="PERMIT-7", to_status="Done")
    )
    ctx = jira.context("k:2")

    with pytest.raises(BusinessError) as refused:
        await JiraTransitionAction().execute(
            ctx, JiraTransitionInputs(issue="PERMIT-7", to_status="In Review")
        )

    message = str(refused.value)
    assert "'Done'" in message
    assert "'Reopen' (id 31) to 'To Do'" in message
    assert events(ctx)[-1] == AuditEvent.JIRA_TRANSITION_FAILED
    assert len(jira.emulator.transitions("PERMIT-7")) == 1


async def test_a_transition_whose_answer_was_lost_is_found_and_not_applied_again(
    jira: Jira,
) -> None:
    jira.emulator.drop_after_apply(method="POST", path="/transitions$")
    params = JiraTransitionInputs(issue="PERMIT-8", to_status="Done")

    with pytest.raises(TechnicalError):
        await JiraTransitionAction().execute(jira.context(), params)
    found = await JiraTransitionAction().lookup(jira.context(attempt=2), params)
    retried = await JiraTransitionAction().execute(jira.context(attempt=2), params)

    assert found == {"issue": "PERMIT-8", "transition_id": "21", "to_status": "Done"}
    check_output(JiraTransitionAction(), found)
    assert retried == found
    assert len(jira.emulator.transitions("PERMIT-8")) == 1
    assert await JiraTransitionAction().lookup(jira.context("other:key"), params) is None


# -- 429, 5xx, the breaker and the rate cap ------------------------------------------------------


async def test_429_is_technical_with_the_retry_after_of_jira(jira: Jira) -> None:
    jira.emulator.rate_limit(retry_after=7)

    with pytest.raises(TechnicalError) as limited:
        await jira.client.myself()

    assert limited.value.retry_after == 7
    assert await jira.guard.state() is CircuitState.CLOSED


async def test_a_429_storm_is_retried_within_bounds_honouring_retry_after(jira: Jira) -> None:
    jira.emulator.rate_limit(count=3, retry_after=1, method="POST")
    params = JiraCommentInputs(issue="PERMIT-9", body="after the storm")
    waits: list[float] = []
    output = None
    for attempt in range(1, 6):
        outcome = await _attempt(JiraCommentAction().execute(jira.context(attempt=attempt), params))
        if not isinstance(outcome, TechnicalError):
            output = outcome
            break
        assert outcome.retry_after is not None
        waits.append(outcome.retry_after)
        await asyncio.sleep(outcome.retry_after)

    assert output is not None
    assert waits == [1, 1, 1]
    assert len(jira.emulator.comments("PERMIT-9")) == 1


async def test_5xx_opens_the_breaker_which_stops_calling_then_closes(jira: Jira) -> None:
    jira.emulator.fail(count=3, status=503)
    for _ in range(3):
        with pytest.raises(TechnicalError, match="503"):
            await jira.client.myself()
    assert await jira.guard.state() is CircuitState.OPEN
    sent = len(jira.emulator.requests())

    with pytest.raises(TechnicalError, match="circuit breaker is open") as refused:
        await jira.client.myself()
    assert refused.value.retry_after is not None
    assert 0 < refused.value.retry_after <= 1
    assert len(jira.emulator.requests()) == sent

    deadline = time.monotonic() + 5
    while await jira.guard.state() is CircuitState.OPEN:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert await jira.guard.state() is CircuitState.HALF_OPEN
    assert (await jira.client.myself())["emailAddress"] == "govflow@example.com"
    assert await jira.guard.state() is CircuitState.CLOSED


async def test_a_failure_while_half_open_opens_the_breaker_again(jira: Jira) -> None:
    jira.emulator.fail(count=4, status=502)
    for _ in range(3):
        with pytest.raises(TechnicalError):
            await jira.client.myself()
    deadline = time.monotonic() + 5
    while await jira.guard.state() is CircuitState.OPEN:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

    with pytest.raises(TechnicalError, match="502"):
        await jira.client.myself()

    assert await jira.guard.state() is CircuitState.OPEN


async def test_the_breaker_is_shared_by_every_client_of_the_redis(
    jira: Jira, redis_url: str, redis_namespace: str
) -> None:
    jira.emulator.fail(count=3)
    for _ in range(3):
        with pytest.raises(TechnicalError):
            await jira.client.myself()
    async for other in _jira(jira.emulator, redis_url, redis_namespace):
        with pytest.raises(TechnicalError, match="circuit breaker is open"):
            await other.client.myself()


async def test_timeouts_and_refused_connections_are_technical(
    emulator: JiraEmulator, redis_url: str, redis_namespace: str
) -> None:
    async for jira in _jira(emulator, redis_url, redis_namespace, timeout_seconds=0.3):
        emulator.slow(1.5)
        with pytest.raises(TechnicalError, match="did not answer"):
            await jira.client.myself()
    async for jira in _jira(emulator, redis_url, redis_namespace, base_url="http://127.0.0.1:9"):
        with pytest.raises(TechnicalError, match="could not be reached"):
            await jira.client.myself()


async def test_the_rate_cap_is_shared_and_refuses_without_calling(
    emulator: JiraEmulator, redis_url: str, redis_namespace: str
) -> None:
    async for jira in _jira(
        emulator, redis_url, redis_namespace, rate_limit_max=3, rate_limit_window_ms=60_000
    ):
        async for other in _jira(
            emulator, redis_url, redis_namespace, rate_limit_max=3, rate_limit_window_ms=60_000
        ):
            await jira.client.myself()
            await other.client.myself()
            await jira.client.myself()
            with pytest.raises(TechnicalError, match="rate cap") as capped:
                await other.client.myself()

    assert capped.value.retry_after is not None
    assert 0 < capped.value.retry_after <= 60
    assert len(emulator.requests()) == 3


# -- the connection test -------------------------------------------------------------------------


async def test_the_connection_test_reports_each_outcome(emulator: JiraEmulator) -> None:
    transport = SpecValidatingTransport(httpx.AsyncHTTPTransport())
    ok = await check_connection(jira_settings(emulator.url), transport=transport)
    wrong = await check_connection(
        jira_settings(emulator.url, api_token=Secret("nope-nope")), transport=transport
    )
    down = await check_connection(jira_settings("http://127.0.0.1:9"))
    off = await check_connection(JiraSettings())

    assert ok["status"] == "ok"
    assert ok["account"]["display_name"] == "GovFlow"
    assert wrong["status"] == "unauthorized"
    assert "nope-nope" not in str(wrong)
    assert down["status"] == "unreachable"
    assert off["status"] == "disabled"
    transport.assert_clean()


async def test_the_token_is_never_sent_in_clear_beyond_loopback() -> None:
    settings = jira_settings("http://jira.example.org")

    with pytest.raises(ValueError, match="JIRA_BASE_URL: must be an https:// URL"):
        build_resources(settings, None)
    report = await check_connection(settings)

    assert report["status"] == "disabled"
    assert "https://" in report["detail"]
    assert build_resources(jira_settings("https://example.atlassian.net"), None).client


async def test_lookups_on_an_issue_jira_does_not_show_find_nothing(jira: Jira) -> None:
    comment = JiraCommentInputs(issue="PERMIT-99", body="x")
    transition = JiraTransitionInputs(issue="PERMIT-99", to_status="Done")

    assert await JiraCommentAction().lookup(jira.context(), comment) is None
    assert await JiraTransitionAction().lookup(jira.context(), transition) is None
    with pytest.raises(BusinessError, match="404"):
        await JiraTransitionAction().execute(jira.context(attempt=2), transition)


def test_retry_after_as_seconds_or_an_http_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)

    assert retry_after_seconds("12") == 12
    assert retry_after_seconds(date, now=now) == 30
    assert retry_after_seconds(email.utils.formatdate(now - 5, usegmt=True), now=now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None
