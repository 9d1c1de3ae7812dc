"""Password-reset tokens go out through the notification action's email channel."""

from __future__ import annotations

from govflow_notification import NotificationSettings

from govflow.adapters.reset_delivery import RESET_SUBJECT, NotificationResetDelivery
from govflow.plugins.manager import PluginManager
from govflow.testing import make_settings
from tests.support.peers import SmtpServer, closed_port


def delivery(settings: object) -> NotificationResetDelivery:
    manager = PluginManager()
    manager.load_entry_points()
    return NotificationResetDelivery(
        manager.actions(), lambda _plugin: settings, None, ttl_minutes=30
    )


async def test_the_token_is_emailed_to_the_account(smtp_server: SmtpServer) -> None:
    sender = delivery(smtp_server.settings(smtp_from="noreply@city.example"))
    assert await sender.deliver("ada@city.example", "tok-123") is True
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["ada@city.example"]
    message = mail.message
    assert message["Subject"] == RESET_SUBJECT
    body = message.get_body()
    assert body is not None
    assert "Reset token: tok-123" in body.get_content()


async def test_an_undeliverable_reset_is_reported_not_raised() -> None:
    unreachable = delivery(
        make_settings(NotificationSettings, smtp_host="127.0.0.1", smtp_port=str(closed_port()))
    )
    assert await unreachable.deliver("ada@city.example", "tok-123") is False
    assert await delivery(NotificationSettings()).deliver("ada@city.example", "tok-123") is False
