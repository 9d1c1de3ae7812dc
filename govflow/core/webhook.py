"""Webhook deliveries: the signature, the replay window and the body mapped to the inputs.

A delivery is ``POST /webhooks/<workflow>`` with three headers and a JSON body:

- ``X-GovFlow-Delivery``: the sender's id of the delivery (:data:`DELIVERY_ID_PATTERN`);
  one execution per id and workflow, a second delivery with the same id is refused;
- ``X-GovFlow-Timestamp``: when it was sent, in Unix seconds, within :data:`TOLERANCE` of now;
- ``X-GovFlow-Signature``: ``sha256=`` and the hex HMAC-SHA256, under the trigger's secret,
  of ``<delivery>.<timestamp>.<raw body>`` — the id and the time are signed with the body, so
  a captured delivery cannot be sent again under another id or later.

Pure: the clock and the secret's value are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from govflow.core.trigger_spec import WebhookTrigger

DELIVERY_HEADER = "X-GovFlow-Delivery"
TIMESTAMP_HEADER = "X-GovFlow-Timestamp"
SIGNATURE_HEADER = "X-GovFlow-Signature"
SIGNATURE_PREFIX = "sha256="
DELIVERY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
TOLERANCE = timedelta(minutes=5)
"""How far a delivery's timestamp may be from the receiver's clock, either way."""
MAX_BODY_BYTES = 64 * 1024
"""The largest body a delivery may carry."""


class WebhookError(StrEnum):
    """The error codes of a refused delivery (the endpoint's answers, docs/api.md)."""

    SIGNATURE_INVALID = "WEBHOOK_SIGNATURE_INVALID"
    """A header is missing or malformed, the timestamp is stale, or the signature is wrong."""
    DELIVERY_REPLAYED = "WEBHOOK_DELIVERY_REPLAYED"
    """This workflow received a delivery with this id before."""
    SECRET_UNSET = "WEBHOOK_SECRET_UNSET"  # noqa: S105 -- an error code
    """No secret provider knows the trigger's secret: no delivery can be checked."""


def delivery_key(workflow_id: object, delivery: str) -> str:
    """The idempotency key of the execution a delivery starts."""
    return f"webhook:{workflow_id}:{delivery}"


_DELIVERY = re.compile(DELIVERY_ID_PATTERN)
_HEX = re.compile(r"^[0-9a-f]{64}$")


class DeliveryRefused(ValueError):
    """A delivery that starts nothing; ``field`` names what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def signature(secret: str, delivery: str, timestamp: str, body: bytes) -> str:
    """The ``X-GovFlow-Signature`` value of a delivery."""
    signed = f"{delivery}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def check_headers(headers: Mapping[str, str], body: bytes, secret: str, now: datetime) -> str:
    """The delivery id of a delivery whose headers are present, fresh and signed by ``secret``.

    :raises DeliveryRefused: a header is missing or malformed, the timestamp is outside the
        window, or the signature does not match (compared in constant time).
    """
    delivery = headers.get(DELIVERY_HEADER.lower(), "")
    if not _DELIVERY.match(delivery):
        raise DeliveryRefused(
            f"header.{DELIVERY_HEADER}",
            "expected an id of 1 to 100 letters, digits, '.', '_', ':' or '-'",
        )
    stamp = headers.get(TIMESTAMP_HEADER.lower(), "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise DeliveryRefused(f"header.{TIMESTAMP_HEADER}", "expected Unix seconds")
    if abs(now.timestamp() - int(stamp)) > TOLERANCE.total_seconds():
        raise DeliveryRefused(
            f"header.{TIMESTAMP_HEADER}",
            f"the delivery is more than {int(TOLERANCE.total_seconds())} s away from now",
        )
    given = headers.get(SIGNATURE_HEADER.lower(), "")
    hexdigest = given.removeprefix(SIGNATURE_PREFIX)
    if not given.startswith(SIGNATURE_PREFIX) or not _HEX.match(hexdigest):
        raise DeliveryRefused(f"header.{SIGNATURE_HEADER}", "expected sha256=<64 hex digits>")
    expected = signature(secret, delivery, stamp, body)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise DeliveryRefused(f"header.{SIGNATURE_HEADER}", "the signature does not match")
    return delivery


_MISSING = object()


def map_body(trigger: WebhookTrigger, body: Any) -> dict[str, Any]:
    """The inputs a delivery's (decoded) body gives.

    :raises DeliveryRefused: the body is not an object (without a mapping), or a mapped path
        is not in it (the field named ``body.<path>``).
    """
    if trigger.inputs is None:
        if not isinstance(body, dict):
            raise DeliveryRefused("body", "expected a JSON object")
        return dict(body)
    inputs: dict[str, Any] = {}
    for name, path in trigger.inputs.items():
        value = _at(body, path.split(".")[1:])
        if value is not _MISSING:
            inputs[name] = value
    return inputs


def _at(value: Any, keys: list[str]) -> Any:
    """The value at ``keys`` inside ``value`` (``_MISSING``: not there; the input's default,
    or its being required, then decides)."""
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, _MISSING)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value
