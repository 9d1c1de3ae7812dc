"""The real peers of the notification channels: a webhook receiver and SMTP servers."""

from __future__ import annotations

from tests.support.peers import (  # noqa: F401 - fixtures
    smtp_certificate,
    smtp_server,
    start_smtp_server,
    webhook_receiver,
)
