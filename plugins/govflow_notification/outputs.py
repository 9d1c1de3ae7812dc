"""The output of a ``notification`` step (``steps.<id>.output``): what its channel gives."""

from __future__ import annotations

from typing import Literal

import msgspec


class NotificationOutput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``channel`` and ``delivered`` always; ``message`` for log, ``status_code`` for webhook,
    ``to``, ``message_id`` and ``refused`` for email."""

    channel: Literal["log", "webhook", "email"]
    delivered: bool
    message: str | None = None
    """log: the message written."""
    status_code: int | None = None
    """webhook: the HTTP status the receiver answered."""
    to: list[str] | None = None
    """email: the addresses the message was sent to."""
    message_id: str | None = None
    """email: the message's ``Message-ID``."""
    refused: dict[str, str] | None = None
    """email: address -> the SMTP server's answer, for the recipients it refused."""
