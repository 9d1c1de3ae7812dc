"""The ``notification`` action's webhook channel against a real idempotent HTTP receiver.

The receiver is on loopback: these tests allow ``127.0.0.0/8`` in the guarded client (as
``OUTBOUND_ALLOW_NETWORKS`` would) and ``127.0.0.1:*`` in ``WEBHOOK_ALLOWLIST``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from govflow_notification import NotificationAction, NotificationSettings

from govflow.adapters.outbound import guarded_client
from govflow.core.destinations import AddressPolicy
from govflow.plugins import ActionContext, BusinessError, PluginSettingsError, TechnicalError
from govflow.testing import make_context as plain_context
from govflow.testing import make_settings, run_action
from tests.support.peers import WebhookReceiver, closed_port, wait_until

ACTION = NotificationAction()
LOOPBACK_ALLOWED = {"webhook_allowlist": "127.0.0.1:*"}


def make_context(**overrides: Any) -> ActionContext:
    """A context whose webhook allowlist admits the loopback receiver (``settings`` as the
    variables would give them)."""
    values = LOOPBACK_ALLOWED | overrides.get("settings", {})
    overrides["settings"] = make_settings(NotificationSettings, "notification", **values)
    return plain_context(**overrides)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The shared client the host gives actions (``ctx.http``), loopback allowed."""
    async with guarded_client(AddressPolicy.parse(["127.0.0.0/8"])) as client:
        yield client


def webhook(url: str, message: str = "Permit PERMIT-1 approved") -> dict[str, str]:
    return {"channel": "webhook", "message": message, "url": url}


async def test_delivers_json_with_the_idempotency_key(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    ctx = make_context(http=http, step_key="notify")
    output = await run_action(ACTION, webhook(webhook_receiver.url), ctx)
    assert output == {"channel": "webhook", "delivered": True, "status_code": 202}
    (delivery,) = webhook_receiver.deliveries
    assert delivery.key == ctx.idempotency_key
    assert delivery.headers["idempotency-key"] == ctx.idempotency_key
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.path == "/hooks/notify"
    assert delivery.payload == {
        "message": "Permit PERMIT-1 approved",
        "execution_id": str(ctx.execution_id),
        "step": "notify",
        "idempotency_key": ctx.idempotency_key,
    }


async def test_a_retry_with_the_same_key_delivers_once(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    first = await run_action(ACTION, webhook(webhook_receiver.url), make_context(http=http))
    again = await run_action(
        ACTION, webhook(webhook_receiver.url), make_context(http=http, attempt=2)
    )
    assert first == again
    assert len(webhook_receiver.deliveries) == 1
    assert webhook_receiver.replays == 1
    assert [r.status for r in webhook_receiver.requests] == [202, 202]
    other_step = await run_action(
        ACTION, webhook(webhook_receiver.url), make_context(http=http, step_key="other")
    )
    assert other_step["delivered"] is True
    assert len(webhook_receiver.deliveries) == 2


@pytest.mark.parametrize(
    ("status", "retry_after"), [(503, None), (503, "7"), (429, "30"), (502, None), (408, None)]
)
async def test_transient_answers_are_technical_errors_and_the_retry_delivers_once(
    webhook_receiver: WebhookReceiver,
    http: httpx.AsyncClient,
    status: int,
    retry_after: str | None,
) -> None:
    webhook_receiver.fail_next(status, retry_after=retry_after)
    with pytest.raises(TechnicalError, match=str(status)) as caught:
        await run_action(ACTION, webhook(webhook_receiver.url), make_context(http=http))
    assert caught.value.details.get("retry_after") == retry_after
    assert caught.value.details["status_code"] == status
    assert webhook_receiver.deliveries == []
    output = await run_action(
        ACTION, webhook(webhook_receiver.url), make_context(http=http, attempt=2)
    )
    assert output["delivered"] is True
    assert len(webhook_receiver.deliveries) == 1


@pytest.mark.parametrize("status", [400, 404, 410])
async def test_a_refusal_is_a_business_error(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient, status: int
) -> None:
    webhook_receiver.fail_next(status)
    with pytest.raises(BusinessError, match=f"refused the notification with {status}") as caught:
        await run_action(ACTION, webhook(webhook_receiver.url), make_context(http=http))
    assert caught.value.details == {"status_code": status}
    assert webhook_receiver.deliveries == []


async def test_a_key_reused_for_another_message_is_a_business_error(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    ctx = make_context(http=http)
    await run_action(ACTION, webhook(webhook_receiver.url, "first"), ctx)
    with pytest.raises(BusinessError, match="422"):
        await run_action(ACTION, webhook(webhook_receiver.url, "second"), ctx)
    assert [d.payload["message"] for d in webhook_receiver.deliveries] == ["first"]


async def test_the_receiver_refuses_what_a_real_one_refuses(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    url = webhook_receiver.url
    no_key = await http.post(url, json={"message": "m"})
    not_json = await http.post(
        url, content=b"message=m", headers={"Idempotency-Key": "k1", "Content-Type": "text/plain"}
    )
    malformed = await http.post(
        url, content=b"{", headers={"Idempotency-Key": "k2", "Content-Type": "application/json"}
    )
    wrong_method = await http.get(url)
    assert [no_key.status_code, not_json.status_code, malformed.status_code] == [400, 415, 400]
    assert wrong_method.status_code == 405
    assert webhook_receiver.deliveries == []


async def test_a_key_still_in_flight_is_retried_later(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    webhook_receiver.hold()
    ctx = make_context(http=http)
    first = asyncio.create_task(run_action(ACTION, webhook(webhook_receiver.url), ctx))
    try:
        await wait_until(lambda: webhook_receiver.held == 1)
        with pytest.raises(TechnicalError, match="409"):
            await run_action(ACTION, webhook(webhook_receiver.url), ctx)
    finally:
        webhook_receiver.release()
        output = await first
    assert output["status_code"] == 202
    assert len(webhook_receiver.deliveries) == 1


async def test_a_timeout_is_a_technical_error_and_the_retry_is_deduplicated(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    """The receiver processes the request after the client gave up: the retry with the same
    key gets the first answer, and the notification is delivered once."""
    webhook_receiver.hold()
    ctx = make_context(http=http, settings={"webhook_timeout": "0.2"})
    with pytest.raises(TechnicalError, match=r"^webhook delivery failed$"):
        await run_action(ACTION, webhook(webhook_receiver.url), ctx)
    webhook_receiver.release()
    await wait_until(lambda: len(webhook_receiver.deliveries) == 1)
    # The retry waits as long as a real one would: a loaded machine may take longer than the
    # first attempt's 0.2 s just to connect.
    retry = dataclasses.replace(
        ctx, attempt=2, settings=make_context(settings={"webhook_timeout": "10"}).settings
    )
    assert (await run_action(ACTION, webhook(webhook_receiver.url), retry))["delivered"] is True
    assert len(webhook_receiver.deliveries) == 1
    assert webhook_receiver.replays == 1


async def test_connection_refused_is_a_technical_error(http: httpx.AsyncClient) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/notify"
    with pytest.raises(TechnicalError, match=r"^webhook delivery failed$"):
        await run_action(ACTION, webhook(url), make_context(http=http))


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"webhook_timeout": "soon"}, "GOVFLOW_NOTIFICATION_WEBHOOK_TIMEOUT: Expected `float`"),
        ({"webhook_allowlist": "ftp://files.example.org/"}, "_WEBHOOK_ALLOWLIST: "),
        ({"webhook_follow_redirects": "maybe"}, "_WEBHOOK_FOLLOW_REDIRECTS: must be true or"),
    ],
)
def test_invalid_outbound_settings_are_refused_when_read(
    settings: dict[str, str], problem: str
) -> None:
    with pytest.raises(PluginSettingsError) as caught:
        make_context(settings=settings)
    (line,) = caught.value.problems
    assert problem in line


@pytest.mark.parametrize("allowlist", ["", "hooks.example.org", "127.0.0.1", "localhost:*"])
async def test_a_destination_off_the_allowlist_is_not_contacted(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient, allowlist: str
) -> None:
    ctx = make_context(http=http, settings={"webhook_allowlist": allowlist})
    with pytest.raises(BusinessError, match=r"^webhook destination not allowed$"):
        await run_action(ACTION, webhook(webhook_receiver.url), ctx)
    assert webhook_receiver.requests == []


async def test_a_redirect_is_not_followed_by_default(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    webhook_receiver.fail_next(307)
    with pytest.raises(BusinessError, match=r"redirect \(307\); redirects are not followed"):
        await run_action(ACTION, webhook(webhook_receiver.url), make_context(http=http))
    assert webhook_receiver.deliveries == []


async def test_credentials_in_the_url_are_not_repeated_in_errors(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    webhook_receiver.fail_next(400)
    url = webhook_receiver.url.replace("http://", "http://user:s3cret@")
    with pytest.raises(BusinessError) as caught:
        await run_action(ACTION, webhook(url), make_context(http=http))
    assert "s3cret" not in str(caught.value)
    assert "refused the notification with 400" in str(caught.value)
