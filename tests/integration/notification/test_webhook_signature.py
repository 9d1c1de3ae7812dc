"""Signed webhooks: ``GovFlow-Signature`` (HMAC-SHA256 over the timestamp and the body) with a
per-target secret named by the step, checked by the verification docs/plugins.md shows."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from govflow_manual import ManualAction
from govflow_manual.action import task_payload
from govflow_notification import NotificationAction, NotificationSettings
from govflow_notification.signature import sign, verify

from govflow.adapters.outbound import guarded_client
from govflow.core.destinations import AddressPolicy
from govflow.core.tasks.notices import notify_channels
from govflow.plugins import ActionContext, BusinessError, PluginSettingsError
from govflow.plugins.settings import describe_settings
from govflow.testing import decode_inputs, make_context, make_settings, run_action
from tests.support.outbound_peers import listening
from tests.support.peers import WebhookReceiver

ACTION = NotificationAction()
DOC = Path(__file__).parents[3] / "docs" / "plugins.md"
BILLING = "whsec_billing_0123456789abcdef"
CRM = "whsec_crm_fedcba9876543210"
SECRETS = f"billing={BILLING},crm={CRM}"


def documented_verification() -> Callable[..., bool]:
    """``verify_govflow_signature`` as docs/plugins.md shows it to receivers."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (code,) = [block for block in blocks if "def verify_govflow_signature" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    function: Callable[..., bool] = namespace["verify_govflow_signature"]
    return function


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with guarded_client(AddressPolicy.parse(["127.0.0.0/8"])) as client:
        yield client


def context(http: httpx.AsyncClient, **settings: str) -> ActionContext:
    values = {"webhook_allowlist": "127.0.0.1:*", "webhook_secrets": SECRETS} | settings
    return make_context(
        http=http, step_key="notify", settings=make_settings(NotificationSettings, **values)
    )


def webhook(url: str, secret: str | None) -> dict[str, str]:
    with_ = {"channel": "webhook", "message": "Permit PERMIT-1 approved", "url": url}
    return with_ | ({"secret": secret} if secret else {})


async def test_a_named_secret_signs_the_exact_body_and_the_documented_check_accepts_it(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    ctx = context(http)
    before = int(time.time())
    await run_action(ACTION, webhook(webhook_receiver.url, "crm"), ctx)
    (request,) = webhook_receiver.requests
    header = request.headers["govflow-signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert before <= timestamp <= time.time()
    assert header == sign(CRM, timestamp, request.body)
    assert request.headers["idempotency-key"] == ctx.idempotency_key
    check = documented_verification()
    assert check(CRM, header, request.body)
    assert not check(BILLING, header, request.body)  # another target's secret
    assert not check(CRM, header, request.body.replace(b"approved", b"refused"))
    assert verify(CRM, header, request.body, now=time.time())
    assert not verify(CRM, header, request.body, now=time.time() + 301)  # a replay, later


async def test_every_attempt_signs_the_same_body_anew(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    ctx = context(http)
    webhook_receiver.fail_next(503)
    with pytest.raises(Exception, match="503"):
        await run_action(ACTION, webhook(webhook_receiver.url, "billing"), ctx)
    await run_action(ACTION, webhook(webhook_receiver.url, "billing"), ctx)
    first, second = webhook_receiver.requests
    assert first.body == second.body
    check = documented_verification()
    assert check(BILLING, second.headers["govflow-signature"], second.body)
    assert len(webhook_receiver.deliveries) == 1


async def test_without_a_secret_the_request_is_not_signed(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    await run_action(ACTION, webhook(webhook_receiver.url, None), context(http))
    (request,) = webhook_receiver.requests
    assert "govflow-signature" not in request.headers


async def test_an_unknown_secret_is_a_business_error_and_nothing_is_sent(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    with pytest.raises(BusinessError, match="GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS") as caught:
        await run_action(ACTION, webhook(webhook_receiver.url, "payroll"), context(http))
    assert "'payroll'" in str(caught.value)
    assert BILLING not in str(caught.value)
    assert webhook_receiver.requests == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("whsec_no_name_0123456789", "item 1 is not NAME=SECRET"),
        (f"billing={BILLING},Bad Name=whsec_0123456789abcdef", "item 2 is not NAME=SECRET"),
        ("billing=tiny-pw", "the secret 'billing' is shorter than 16 characters"),
        (f"billing={BILLING},billing={CRM}", "the secret 'billing' is given twice"),
    ],
)
def test_malformed_secrets_are_refused_when_read_without_showing_them(
    value: str, problem: str
) -> None:
    with pytest.raises(PluginSettingsError) as caught:
        make_settings(NotificationSettings, "notification", webhook_secrets=value)
    (line,) = caught.value.problems
    assert "GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS" in line
    assert problem in line
    for secret in ("whsec", "tiny-pw"):
        assert secret not in line


def test_the_secrets_are_masked_where_the_settings_are_shown() -> None:
    settings = make_settings(NotificationSettings, webhook_secrets=SECRETS)
    assert BILLING not in repr(settings)
    assert settings.secrets["crm"].reveal() == CRM
    (shown,) = [
        info
        for info in describe_settings("notification", NotificationSettings, settings)
        if info.name == "webhook_secrets"
    ]
    assert shown.variable == "GOVFLOW_NOTIFICATION_WEBHOOK_SECRETS"
    assert BILLING not in str(shown)
    assert CRM not in str(shown)


async def test_a_redirect_is_a_business_error_naming_its_location(
    http: httpx.AsyncClient,
) -> None:
    async with listening(status=302) as redirector:
        redirector.headers["Location"] = "https://user:pw@elsewhere.example/hooks?id=7"
        with pytest.raises(BusinessError) as caught:
            await run_action(ACTION, webhook(redirector.url, "crm"), context(http))
    message = str(caught.value)
    assert "redirect (302) to https://elsewhere.example/hooks?id=7" in message
    assert "redirects are not followed" in message
    assert caught.value.details == {
        "status_code": 302,
        "location": "https://elsewhere.example/hooks?id=7",
    }
    assert len(redirector.requests) == 1


async def test_a_task_notice_webhook_names_its_secret_and_is_signed(
    webhook_receiver: WebhookReceiver, http: httpx.AsyncClient
) -> None:
    """A ``manual`` step's ``notify`` webhook with ``secret``: the channel the task stores is
    what the notices outbox gives the action, so the task's notices are signed too."""
    with_ = {
        "title": "Review C-1",
        "assignee": {"role": "OPERATOR"},
        "notify": [{"channel": "webhook", "url": webhook_receiver.url, "secret": "billing"}],
    }
    params = decode_inputs(ManualAction(), with_)
    task = await task_payload(make_context(), params)
    (channel,) = notify_channels(task["notify"])
    inputs = {**channel, "message": 'Task "Review C-1" is overdue.'}
    await run_action(ACTION, inputs, context(http))
    (request,) = webhook_receiver.requests
    assert documented_verification()(BILLING, request.headers["govflow-signature"], request.body)
