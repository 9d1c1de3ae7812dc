"""Delivery over SMTP (the email channel).

Errors follow one rule: ``TechnicalError`` only when the effect certainly did not happen and a
later attempt may succeed (the engine retries it), ``BusinessError`` for everything a retry
cannot fix. Email is ``at_most_once``: once the message content has been handed to the SMTP
server, a lost connection leaves the outcome unknown, which is an ``OutcomeUnknown`` (the step
goes to ``NEEDS_ATTENTION`` for an operator to decide) rather than a retry that could send the
message twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any

from govflow.plugins import ActionContext, BusinessError, OutcomeUnknown, TechnicalError
from govflow_notification.inputs import NotificationInputs
from govflow_notification.recipients import recipients
from govflow_notification.settings import NotificationSettings, settings_of, variable

IDEMPOTENCY_HEADER = "X-GovFlow-Idempotency-Key"
DEFAULT_FROM = "govflow@localhost"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """The ``SMTP_*`` settings, checked."""

    host: str
    port: int
    sender: str
    username: str
    password: str = field(repr=False)
    starttls: bool
    implicit_tls: bool
    ca_file: str | None
    timeout: float
    local_hostname: str | None

    @classmethod
    def from_settings(cls, settings: NotificationSettings) -> SmtpConfig:
        """The SMTP part of the plugin's settings (checked when the process started).

        :raises BusinessError: no SMTP server is configured.
        """
        host = (settings.smtp_host or "").strip()
        if not host:
            raise BusinessError(
                f"the email channel needs SMTP settings ({variable('smtp_host')} is not set)"
            )
        password = settings.smtp_password
        return cls(
            host=host,
            port=settings.port,
            sender=settings.smtp_from.strip() or DEFAULT_FROM,
            username=settings.smtp_username or "",
            password=password.reveal() if password is not None else "",
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_ssl,
            ca_file=settings.smtp_ca_file or None,
            timeout=settings.smtp_timeout,
            local_hostname=settings.smtp_local_hostname or None,
        )

    def tls_context(self) -> ssl.SSLContext:
        """A context that verifies the server's certificate and host name."""
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise BusinessError(
                f"{variable('smtp_ca_file')} {self.ca_file!r} cannot be loaded: {exc}"
            ) from exc


def message_id(idempotency_key: str, sender: str) -> str:
    """A ``Message-ID`` derived from the idempotency key: the same on every attempt, so a
    receiving system can recognise a repeated message; the domain is the sender's."""
    domain = sender.rpartition("@")[2] if "@" in sender else "govflow.localhost"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}.govflow@{domain}>"


def build_message(
    ctx: ActionContext, params: NotificationInputs, config: SmtpConfig, to: list[str]
) -> EmailMessage:
    """The message for one step to ``to``: the subject and body of ``params``, a
    ``Message-ID`` derived from the idempotency key and the key itself as
    ``X-GovFlow-Idempotency-Key``.

    :raises BusinessError: an address or the subject cannot be put in a header.
    """
    message = EmailMessage()
    try:
        senders = getaddresses([config.sender])
        if len(senders) != 1 or "@" not in senders[0][1]:
            raise ValueError(f"{variable('smtp_from')} {config.sender!r} is not one address")
        message["From"] = config.sender
        message["To"] = [Address(addr_spec=address) for address in to]
        message["Subject"] = params.subject or "GovFlow notification"
    except (ValueError, HeaderParseError) as exc:
        raise BusinessError(f"the email cannot be addressed: {exc}") from exc
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id(ctx.idempotency_key, senders[0][1])
    message[IDEMPOTENCY_HEADER] = ctx.idempotency_key
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
    message.set_content(params.message)
    return message


async def send_email(ctx: ActionContext, params: NotificationInputs) -> Mapping[str, Any]:
    """Send the message through the configured SMTP server.

    :returns: ``to`` (the addresses, the groups' members included), ``message_id``, and
        ``refused``: the recipients the server refused while it accepted others, with its
        answer.
    :raises BusinessError: SMTP is not configured, a recipient group names nobody, the server
        refuses the message (5xx), does not offer what the settings require (STARTTLS, AUTH)
        or presents an untrusted certificate.
    :raises OutcomeUnknown: the connection broke after the message was handed over: it may
        have been delivered, so it is not sent again.
    :raises TechnicalError: the server cannot be reached, or answers with a transient (4xx)
        refusal, before it received the message.
    """
    config = SmtpConfig.from_settings(settings_of(ctx.settings))
    to = await recipients(ctx, params)
    message = build_message(ctx, params, config, to)
    context = config.tls_context() if config.implicit_tls or config.starttls else None
    attempt = _Attempt()
    try:
        refused = await asyncio.to_thread(_deliver, config, context, message, to, attempt)
    except smtplib.SMTPRecipientsRefused as exc:
        answers = {to: f"{code} {_text(text)}" for to, (code, text) in exc.recipients.items()}
        error = (
            TechnicalError
            if all(400 <= code < 500 for code, _ in exc.recipients.values())
            else BusinessError
        )
        raise error(
            f"SMTP server {config.host} refused every recipient: {answers}",
            details={"refused": answers},
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # An explicit answer (sender, AUTH, DATA ...): the message was not accepted.
        answer = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:
            raise TechnicalError(f"SMTP server {config.host} answered {answer}") from exc
        raise BusinessError(f"SMTP server {config.host} refused the message: {answer}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise BusinessError(
            f"SMTP server {config.host} presented a certificate that is not trusted "
            f"({exc.verify_message}); set {variable('smtp_ca_file')} for a private CA"
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise _broken(config, attempt, message, exc) from exc
    except smtplib.SMTPException as exc:  # STARTTLS or AUTH not offered, no AUTH mechanism ...
        raise BusinessError(
            f"SMTP server {config.host} does not offer what the settings require: {exc}"
        ) from exc
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
        raise _broken(config, attempt, message, exc) from exc
    except ssl.SSLError as exc:  # e.g. SMTP_SSL against a plain-text port
        raise BusinessError(f"TLS with SMTP server {config.host} failed: {exc}") from exc
    except OSError as exc:
        raise _broken(config, attempt, message, exc) from exc
    return {
        "channel": "email",
        "delivered": True,
        "to": to,
        "message_id": message["Message-ID"],
        "refused": {to: f"{code} {_text(text)}" for to, (code, text) in refused.items()},
    }


def _broken(
    config: SmtpConfig, attempt: _Attempt, message: EmailMessage, exc: Exception
) -> OutcomeUnknown | TechnicalError:
    """The error for a connection that failed or broke: retryable until the message was sent."""
    if attempt.handed_over:
        return OutcomeUnknown(
            f"SMTP server {config.host}: the connection broke after the message was sent "
            f"({exc!r}); it may have been delivered, so it is not sent again",
            details={"outcome": "unknown", "message_id": str(message["Message-ID"])},
        )
    return TechnicalError(f"SMTP server {config.host} unreachable: {exc!r}")


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


class _Attempt:
    """Whether the message content has been handed to the server (``DATA`` was sent)."""

    handed_over = False


class _Smtp(smtplib.SMTP):
    def __init__(self, attempt: _Attempt, **kwargs: Any) -> None:
        self.attempt = attempt
        super().__init__(**kwargs)

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.attempt.handed_over = True
        return super().data(msg)


class _SmtpSsl(smtplib.SMTP_SSL):
    def __init__(self, attempt: _Attempt, **kwargs: Any) -> None:
        self.attempt = attempt
        super().__init__(**kwargs)

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.attempt.handed_over = True
        return super().data(msg)


def _deliver(
    config: SmtpConfig,
    context: ssl.SSLContext | None,
    message: EmailMessage,
    to: list[str],
    attempt: _Attempt,
) -> dict[str, tuple[int, bytes]]:
    """Run one SMTP session; the refused recipients when others were accepted."""
    common: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "timeout": config.timeout,
        "local_hostname": config.local_hostname,
    }
    smtp: smtplib.SMTP
    if config.implicit_tls:
        smtp = _SmtpSsl(attempt, context=context, **common)
    else:
        smtp = _Smtp(attempt, **common)
    try:
        smtp.ehlo_or_helo_if_needed()
        if config.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.username:
            smtp.login(config.username, config.password)
        refused = smtp.send_message(message, to_addrs=to)
    except BaseException:
        smtp.close()
        raise
    try:  # the message is accepted: a failing QUIT must not turn into a retry
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
    return refused
