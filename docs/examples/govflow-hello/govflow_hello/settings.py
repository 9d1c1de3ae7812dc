"""The plugin's settings, read by GovFlow from ``GOVFLOW_HELLO_<NAME>`` when a process starts."""

from __future__ import annotations

from typing import Annotated

import msgspec

from govflow.plugins import Env, Secret

HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]


class HelloSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``GOVFLOW_HELLO_GREETING``, ``GOVFLOW_HELLO_BOARD_URL`` (also ``HELLO_BOARD_URL``),
    ``GOVFLOW_HELLO_BOARD_TOKEN`` (a secret), ``GOVFLOW_HELLO_TIMEOUT``."""

    greeting: Annotated[str, msgspec.Meta(min_length=1)] = "Hello"
    board_url: Annotated[HttpUrl | None, Env("HELLO_BOARD_URL")] = None
    board_token: Secret | None = None
    timeout: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0

    def __post_init__(self) -> None:
        if self.board_token and not self.board_url:
            raise ValueError("GOVFLOW_HELLO_BOARD_TOKEN is set without GOVFLOW_HELLO_BOARD_URL")
