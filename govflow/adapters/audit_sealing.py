"""What sealing the audit log needs, taken from the settings: the key, the anchor, the witness."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from govflow.adapters.audit_anchor import AnchorFile
from govflow.settings import Mode, Settings

ANCHOR_FILE_NAME = "audit-anchor.jsonl"
KEY_FILE_NAME = "audit_seal_key"
MIN_KEY_LENGTH = 32


@dataclass(frozen=True, slots=True)
class AuditSealing:
    """The seal key (never stored in the database), the anchor file and the optional witness."""

    key: bytes
    anchor: AnchorFile
    witness_url: str | None = None


def development_audit_seal_key(home: Path) -> tuple[str, bool]:
    """The seal key kept under ``home`` outside production; ``True`` when this call created it.

    Created with ``O_EXCL``: processes starting at once all end up with the same key.
    """
    path = home / KEY_FILE_NAME
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text().strip()
        if len(kept) < MIN_KEY_LENGTH:
            raise ValueError(
                f"{path} holds no usable audit seal key: restore it or set AUDIT_SEAL_KEY"
            ) from None
        return kept, False
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
        out.flush()
        os.fsync(out.fileno())
    return key, True


def audit_sealing(settings: Settings) -> AuditSealing:
    """The sealing configuration; outside production a missing key is generated under the home."""
    key = settings.audit_seal_key
    if key is None:
        if settings.mode is Mode.PRODUCTION:
            raise ValueError("AUDIT_SEAL_KEY is required in production mode")
        key, _ = development_audit_seal_key(settings.home)
    anchor = settings.audit_anchor_path or settings.home / ANCHOR_FILE_NAME
    return AuditSealing(
        key=key.encode(), anchor=AnchorFile(anchor), witness_url=settings.audit_witness_url
    )
