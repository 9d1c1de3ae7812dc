"""The ``notification`` action's email channel against real SMTP servers on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from govflow_notification import NotificationAction, NotificationSettings
from govflow_notification.senders import message_id

from govflow.plugins import BusinessError, OutcomeUnknown, PluginSettingsError, TechnicalError
from govflow.testing import make_context, make_settings, run_action
from tests.support.peers import Certificate, SmtpServer, closed_port

ACTION = NotificationAction()
StartSmtp = Callable[..., Awaitable[SmtpServer]]


def email(*to: str, subject: str | None = "Permit PERMIT-1", message: str = "Approved.") -> Any:
    with_: dict[str, Any] = {"channel": "email", "message": message, "to": list(to)}
    if subject is not None:
        with_["subject"] = subject
    return with_


async def test_sends_the_message(smtp_server: SmtpServer) -> None:
    ctx = make_context(settings=smtp_server.settings(smtp_from="GovFlow <noreply@permits.ch>"))
    output = await run_action(ACTION, email("ada@example.ch", "bob@example.ch"), ctx)
    expected_id = message_id(ctx.idempotency_key, "noreply@permits.ch")
    assert output == {
        "channel": "email",
        "delivered": True,
        "to": ["ada@example.ch", "bob@example.ch"],
        "message_id": expected_id,
        "refused": {},
    }
    (mail,) = smtp_server.messages
    assert mail.mail_from == "noreply@permits.ch"
    assert mail.rcpt_tos == ["ada@example.ch", "bob@example.ch"]
    assert not mail.tls
    message = mail.message
    assert message["From"] == "GovFlow <noreply@permits.ch>"
    assert message["To"] == "ada@example.ch, bob@example.ch"
    assert message["Subject"] == "Permit PERMIT-1"
    assert message["Message-ID"] == expected_id
    assert message["X-GovFlow-Idempotency-Key"] == ctx.idempotency_key
    assert message["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    body = message.get_body()
    assert body is not None
    assert body.get_content() == "Approved.\n"


async def test_defaults_and_a_stable_message_id(smtp_server: SmtpServer) -> None:
    ctx = make_context(settings=smtp_server.settings(smtp_local_hostname="worker-1.govflow.test"))
    first = await run_action(ACTION, email("ada@example.ch", subject=None), ctx)
    again = await run_action(
        ACTION, email("ada@example.ch", subject=None), dataclasses.replace(ctx, attempt=2)
    )
    assert first["message_id"] == again["message_id"]
    assert first["message_id"].endswith("@localhost>")
    assert [m.message["Subject"] for m in smtp_server.messages] == ["GovFlow notification"] * 2
    assert smtp_server.messages[0].mail_from == "govflow@localhost"
    assert smtp_server.messages[0].helo == "worker-1.govflow.test"


async def test_non_ascii_subject_and_body(smtp_server: SmtpServer) -> None:
    ctx = make_context(settings=smtp_server.settings())
    await run_action(
        ACTION, email("ada@example.ch", subject="Bewilligung erteilt ✓", message="Grüezi"), ctx
    )
    message = smtp_server.messages[0].message
    assert message["Subject"] == "Bewilligung erteilt ✓"
    body = message.get_body()
    assert body is not None
    assert body.get_content() == "Grüezi\n"


async def test_a_refused_recipient_among_others_is_reported(start_smtp_server: StartSmtp) -> None:
    server = await start_smtp_server(refuse={"gone@example.ch": "550 5.1.1 no such user"})
    ctx = make_context(settings=server.settings())
    output = await run_action(ACTION, email("ada@example.ch", "gone@example.ch"), ctx)
    assert output["refused"] == {"gone@example.ch": "550 5.1.1 no such user"}
    (mail,) = server.messages
    assert mail.rcpt_tos == ["ada@example.ch"]


async def test_a_rejected_recipient_is_a_business_error(start_smtp_server: StartSmtp) -> None:
    server = await start_smtp_server(refuse={"gone@example.ch": "550 5.1.1 no such user"})
    with pytest.raises(BusinessError, match=r"550 5\.1\.1 no such user") as caught:
        await run_action(ACTION, email("gone@example.ch"), make_context(settings=server.settings()))
    assert caught.value.details == {"refused": {"gone@example.ch": "550 5.1.1 no such user"}}
    assert server.messages == []


async def test_a_temporary_refusal_is_a_technical_error(start_smtp_server: StartSmtp) -> None:
    """Greylisting (450/451) before the message was sent: a later attempt may succeed."""
    server = await start_smtp_server(refuse={"ada@example.ch": "451 4.7.1 try again later"})
    with pytest.raises(TechnicalError, match=r"451 4\.7\.1"):
        await run_action(ACTION, email("ada@example.ch"), make_context(settings=server.settings()))
    assert server.messages == []


async def test_an_unreachable_server_is_a_technical_error() -> None:
    ctx = make_context(
        settings=make_settings(
            NotificationSettings, smtp_host="127.0.0.1", smtp_port=str(closed_port())
        )
    )
    with pytest.raises(TechnicalError, match="unreachable"):
        await run_action(ACTION, email("ada@example.ch"), ctx)


async def test_a_connection_lost_after_the_message_is_not_retried(
    start_smtp_server: StartSmtp,
) -> None:
    """The server got the message but its answer never came: retrying could send it twice."""
    server = await start_smtp_server(drop_after_data=True)
    with pytest.raises(OutcomeUnknown, match="may have been delivered") as caught:
        await run_action(ACTION, email("ada@example.ch"), make_context(settings=server.settings()))
    assert caught.value.details["outcome"] == "unknown"
    assert len(server.messages) == 1


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({}, "GOVFLOW_NOTIFICATION_SMTP_HOST"),
        ({"smtp_host": " "}, "GOVFLOW_NOTIFICATION_SMTP_HOST"),
        ({"smtp_host": "mail", "smtp_from": "a@b.ch, c@d.ch"}, "_SMTP_FROM"),
        ({"smtp_host": "mail", "smtp_ssl": "1", "smtp_ca_file": "/nonexistent"}, "_CA_FILE"),
    ],
)
async def test_missing_or_unusable_settings_are_business_errors(
    settings: dict[str, str], variable: str
) -> None:
    ctx = make_context(settings=make_settings(NotificationSettings, "notification", **settings))
    with pytest.raises(BusinessError, match=variable):
        await run_action(ACTION, email("ada@example.ch"), ctx)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"smtp_port": "smtp"}, "GOVFLOW_NOTIFICATION_SMTP_PORT: Expected `int`"),
        ({"smtp_starttls": "maybe"}, "GOVFLOW_NOTIFICATION_SMTP_STARTTLS: must be true or"),
        ({"smtp_timeout": "-1"}, "GOVFLOW_NOTIFICATION_SMTP_TIMEOUT: Expected `float` > 0"),
        ({"smtp_password": "pw"}, "GOVFLOW_NOTIFICATION_SMTP_PASSWORD is set without"),
        ({"smtp_ssl": "1", "smtp_starttls": "1"}, "exclude each other"),
    ],
)
def test_malformed_settings_are_refused_when_read(settings: dict[str, str], problem: str) -> None:
    with pytest.raises(PluginSettingsError) as caught:
        make_settings(NotificationSettings, "notification", smtp_host="mail", **settings)
    (line,) = caught.value.problems
    assert problem in line
    assert "pw" not in line


async def test_a_subject_with_a_line_break_is_a_business_error(smtp_server: SmtpServer) -> None:
    with pytest.raises(BusinessError, match="cannot be addressed"):
        await run_action(
            ACTION,
            email("ada@example.ch", subject="Hi\r\nBcc: eve@example.ch"),
            make_context(settings=smtp_server.settings()),
        )
    assert smtp_server.messages == []


# -- TLS and AUTH --------------------------------------------------------------------------


async def test_starttls_and_auth(
    start_smtp_server: StartSmtp, smtp_certificate: Certificate
) -> None:
    server = await start_smtp_server(
        certificate=smtp_certificate, tls="starttls", users={"govflow": "s3cret"}
    )
    settings = server.settings(
        smtp_starttls="true",
        smtp_ca_file=str(smtp_certificate.cert),
        smtp_username="govflow",
        smtp_password="s3cret",
    )
    await run_action(ACTION, email("ada@example.ch"), make_context(settings=settings))
    (mail,) = server.messages
    assert mail.tls
    assert mail.authenticated_as == "govflow"


async def test_wrong_credentials_are_a_business_error(
    start_smtp_server: StartSmtp, smtp_certificate: Certificate
) -> None:
    server = await start_smtp_server(
        certificate=smtp_certificate, tls="starttls", users={"govflow": "s3cret"}
    )
    settings = server.settings(
        smtp_starttls="true",
        smtp_ca_file=str(smtp_certificate.cert),
        smtp_username="govflow",
        smtp_password="wrong",
    )
    with pytest.raises(BusinessError, match="535"):
        await run_action(ACTION, email("ada@example.ch"), make_context(settings=settings))
    assert server.messages == []


async def test_a_server_requiring_auth_refuses_anonymous_mail(
    start_smtp_server: StartSmtp, smtp_certificate: Certificate
) -> None:
    server = await start_smtp_server(
        certificate=smtp_certificate, tls="starttls", users={"govflow": "s3cret"}
    )
    settings = server.settings(smtp_starttls="true", smtp_ca_file=str(smtp_certificate.cert))
    with pytest.raises(BusinessError, match="530"):
        await run_action(ACTION, email("ada@example.ch"), make_context(settings=settings))


async def test_a_server_requiring_starttls_refuses_plain_text(
    start_smtp_server: StartSmtp, smtp_certificate: Certificate
) -> None:
    server = await start_smtp_server(certificate=smtp_certificate, tls="starttls")
    with pytest.raises(BusinessError, match="530"):
        await run_action(ACTION, email("ada@example.ch"), make_context(settings=server.settings()))
    assert server.messages == []


async def test_an_untrusted_certificate_is_a_business_error(
    start_smtp_server: StartSmtp, smtp_certificate: Certificate
) -> None:
    server = await start_smtp_server(certificate=smtp_certificate, tls="starttls")
    with pytest.raises(BusinessError, match=r"not trusted.*SMTP_CA_FILE"):
        await run_action(
            ACTION,
            email("ada@example.ch"),
            make_context(settings=server.settings(smtp_starttls="true")),
        )
    assert server.messages == []


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"smtp_starttls": "true"}, "STARTTLS extension not supported"),
        ({"smtp_username": "govflow", "smtp_password": "pw"}, "AUTH extension not supported"),
    ],
)
async def test_settings_the_server_does_not_support_are_business_errors(
    smtp_server: SmtpServer, settings: dict[str, str], problem: str
) -> None:
    with pytest.raises(BusinessError, match=problem):
        await run_action(
            ACTION, email("ada@example.ch"), make_context(settings=smtp_server.settings(**settings))
        )


async def test_implicit_tls(start_smtp_server: StartSmtp, smtp_certificate: Certificate) -> None:
    server = await start_smtp_server(certificate=smtp_certificate, tls="implicit")
    settings = server.settings(smtp_ssl="yes", smtp_ca_file=str(smtp_certificate.cert))
    await run_action(ACTION, email("ada@example.ch"), make_context(settings=settings))
    (mail,) = server.messages
    assert mail.tls


async def test_implicit_tls_against_a_plain_text_port_is_a_business_error(
    smtp_server: SmtpServer,
) -> None:
    with pytest.raises(BusinessError, match="TLS with SMTP server"):
        await run_action(
            ACTION,
            email("ada@example.ch"),
            make_context(settings=smtp_server.settings(smtp_ssl="true")),
        )
