"""The signature of a webhook request: HMAC-SHA256 over the timestamp and the body.

A webhook step that names a secret (``with: {secret: billing}``) is sent with::

    GovFlow-Signature: t=1767225600,v1=5f2b...c0

where ``t`` is the time of sending in Unix seconds and ``v1`` the lowercase hex HMAC-SHA256,
keyed with the secret's UTF-8 bytes, of the signed string ``f"{t}."`` followed by the exact body
bytes (as Stripe signs its events). A receiver recomputes it over the raw body, compares in
constant time and refuses a ``t`` too far from its clock (a replayed request); docs/plugins.md
shows a verification a receiver can copy, and :func:`verify` is the same check.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "GovFlow-Signature"
SCHEME: Final = "v1"
TOLERANCE_SECONDS: Final = 300
"""How far from the receiver's clock a signature's timestamp may be."""


def signed_string(timestamp: int, body: bytes) -> bytes:
    """What is signed: ``<timestamp>.`` and the body."""
    return f"{timestamp}.".encode() + body


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``GovFlow-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), signed_string(timestamp, body), hashlib.sha256)
    return f"t={timestamp},{SCHEME}={digest.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: float = TOLERANCE_SECONDS
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and its timestamp is within
    ``tolerance`` seconds of ``now``."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rpartition("=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get(SCHEME, []))
