"""The seal key outside production, the anchor file's durability rules, the settings' checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from govflow.adapters.audit_anchor import AnchorFile
from govflow.adapters.audit_sealing import audit_sealing, development_audit_seal_key
from govflow.core.audit_chain import SealHead
from govflow.settings import Mode, Settings, SettingsError, load_settings


def test_the_development_key_is_made_once_private_and_then_reused(tmp_path: Path) -> None:
    key, created = development_audit_seal_key(tmp_path)
    assert created
    assert len(key) >= 32
    assert (tmp_path / "audit_seal_key").stat().st_mode & 0o077 == 0
    assert development_audit_seal_key(tmp_path) == (key, False)
    (tmp_path / "audit_seal_key").write_text("\n")
    with pytest.raises(ValueError, match="no usable audit seal key"):
        development_audit_seal_key(tmp_path)


def test_sealing_takes_the_key_and_anchor_from_the_settings(tmp_path: Path) -> None:
    configured = Settings(
        mode=Mode.TEST,
        govflow_home=tmp_path,
        audit_seal_key="s" * 32,
        audit_anchor_path=tmp_path / "elsewhere.jsonl",
        audit_witness_url="https://witness.example/heads",
        _env_file=None,
    )
    sealing = audit_sealing(configured)
    assert (sealing.key, sealing.anchor.path) == (b"s" * 32, tmp_path / "elsewhere.jsonl")
    assert sealing.witness_url == "https://witness.example/heads"
    defaults = audit_sealing(Settings(mode=Mode.TEST, govflow_home=tmp_path, _env_file=None))
    assert defaults.anchor.path == tmp_path.resolve() / "audit-anchor.jsonl"
    assert defaults.key == (tmp_path / "audit_seal_key").read_text().strip().encode()


def test_production_requires_a_key_and_the_urls_are_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AUDIT_SEAL_KEY", "MIGRATION_DATABASE_URL", "AUDIT_WITNESS_URL"):
        monkeypatch.delenv(name, raising=False)
    base = {
        "mode": Mode.PRODUCTION,
        "jwt_secret": "j" * 32,
        "database_url": "postgresql://app@db/govflow",
        "redis_url": "redis://redis:6379/0",
        "_env_file": None,
    }
    with pytest.raises(SettingsError, match="required in production mode: AUDIT_SEAL_KEY"):
        load_settings(**base)
    with pytest.raises(SettingsError) as bad:
        load_settings(
            **base,
            audit_seal_key="short",
            migration_database_url="mysql://x",
            audit_witness_url="ftp://x",
        )
    assert {p.split(":")[0] for p in bad.value.problems} == {
        "AUDIT_SEAL_KEY",
        "MIGRATION_DATABASE_URL",
        "AUDIT_WITNESS_URL",
    }
    assert load_settings(**base, audit_seal_key="k" * 32).audit_seal_key == "k" * 32


def _head(n: int) -> SealHead:
    return SealHead(
        id=n, first_id=n, last_id=n, row_count=1, previous_hash="0" * 64, hash="1" * 64, mac="m"
    )


def test_the_anchor_appends_whole_lines_and_reports_unreadable_ones(tmp_path: Path) -> None:
    anchor = AnchorFile(tmp_path / "sub" / "anchor.jsonl")
    assert not anchor.read().present
    anchor.create()
    assert anchor.read().present
    assert anchor.read().heads == []
    anchor.append([_head(1)])
    with anchor.path.open("ab") as torn:
        torn.write(b'{"id": 2, "first')  # a write cut short
    anchor.append([_head(3)])
    view = anchor.read()
    assert [h.id for h in view.heads] == [1, 3]
    assert view.unreadable == [2]
    anchor.create()  # never truncates
    assert [h.id for h in anchor.read().heads] == [1, 3]


def test_only_one_writer_holds_the_anchor_lock(tmp_path: Path) -> None:
    anchor = AnchorFile(tmp_path / "anchor.jsonl")
    with anchor.locked() as first:
        assert first
        with AnchorFile(tmp_path / "anchor.jsonl").locked() as second:
            assert not second
    with anchor.locked() as again:
        assert again
