"""The ``with:`` block of a ``notification`` step; each channel has its own fields."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]
Level = Literal["debug", "info", "warning", "error"]

CHANNEL_FIELDS = {"log": ("level",), "webhook": ("url",), "email": ("to", "subject")}
"""The fields each channel accepts; ``REQUIRED`` lists those it needs."""
REQUIRED = {"log": (), "webhook": ("url",), "email": ("to",)}


class NotificationInputs(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``channel`` and ``message``, plus ``level`` (log), ``url`` (webhook), ``to``/``subject``
    (email)."""

    channel: Literal["log", "webhook", "email"]
    message: Annotated[str, msgspec.Meta(min_length=1)]
    level: Level | None = None
    url: HttpUrl | None = None
    to: Annotated[list[Email], msgspec.Meta(min_length=1)] | None = None
    subject: str | None = None

    def __post_init__(self) -> None:
        for name in REQUIRED[self.channel]:
            if getattr(self, name) is None:
                raise ValueError(f"the {self.channel} channel needs `{name}`")
        foreign = [
            name
            for channel, names in CHANNEL_FIELDS.items()
            if channel != self.channel
            for name in names
            if getattr(self, name) is not None
        ]
        if foreign:
            raise ValueError(f"`{foreign[0]}` does not apply to the {self.channel} channel")
