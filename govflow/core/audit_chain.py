"""The audit log's hash chain and the keyed MAC of each seal.

A seal covers a batch of consecutive audit rows. Its ``hash`` is SHA-256 over the scheme name,
the previous seal's hash and the rows, each row encoded canonically; its ``mac`` is HMAC-SHA256,
under a key kept outside the database, over every field of the seal. Whoever can write to the
database can recompute a plain hash, but not a MAC.

The canonical encoding of a row does not depend on the database session: each row is one JSON
array of ``SEALED_COLUMNS`` in that order, where a missing value is JSON ``null`` (never the
empty string or the text ``null``), timestamps are UTC in one fixed format with microseconds,
uuids are lower-case hyphenated text, and ``metadata`` is the text PostgreSQL gives for the
``jsonb`` value (keys sorted and deduplicated, numbers as stored, independent of session settings).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec

SCHEME = "govflow-audit-v2"
"""Names the encoding and the MAC layout; part of every hash and MAC."""

GENESIS = "0" * 64
"""The previous hash of the first seal."""

SEALED_COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "actor_id",
    "actor_email",
    "entity_type",
    "entity_id",
    "department_id",
    "request_id",
    "reason",
    "metadata",
)

Row = Sequence[object]
"""An audit row's values in the order of ``SEALED_COLUMNS``."""


class SealHead(msgspec.Struct, frozen=True, kw_only=True):
    """One seal as stored in ``audit_seals`` and as anchored outside the database."""

    id: int
    first_id: int
    last_id: int
    row_count: int
    previous_hash: str
    hash: str
    mac: str = ""


def _canonical_value(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("booleans are not audit values")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("audit timestamps must carry a time zone")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"no canonical encoding for {type(value).__name__}")


def canonical_row(row: Row) -> bytes:
    """The row's bytes as hashed: a compact JSON array of its canonical values."""
    if len(row) != len(SEALED_COLUMNS):
        raise ValueError(f"an audit row has {len(SEALED_COLUMNS)} values, got {len(row)}")
    values = [_canonical_value(value) for value in row]
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous_hash: str, rows: Iterable[Row]) -> str:
    """The hash of a batch of rows chained to ``previous_hash``."""
    digest = hashlib.sha256(f"{SCHEME}\n{previous_hash}".encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(canonical_row(row))
    return digest.hexdigest()


def seal_mac(key: bytes, head: SealHead) -> str:
    """HMAC-SHA256 over every field of a seal but its MAC."""
    message = (
        f"{SCHEME}|{head.id}|{head.first_id}|{head.last_id}|{head.row_count}"
        f"|{head.previous_hash}|{head.hash}"
    )
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signed(key: bytes, head: SealHead) -> SealHead:
    """``head`` with its MAC under ``key``."""
    return msgspec.structs.replace(head, mac=seal_mac(key, head))


def mac_ok(key: bytes, head: SealHead) -> bool:
    """Whether ``head`` was sealed with ``key`` and not changed since."""
    return hmac.compare_digest(seal_mac(key, head), head.mac)
