"""The audit log's tamper evidence against someone with full access to the database.

The sealer connects as the application does (role ``govflow_app``); the attacker connects as the
superuser the tests run as and switches the append-only triggers off. Every scenario ends with
``verify_chain`` naming what was done.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from govflow.adapters.audit_anchor import AnchorFile
from govflow.adapters.audit_sealing import AuditSealing
from govflow.adapters.db.audit import append_audit
from govflow.adapters.db.audit_seals import (
    SealRefused,
    _seal_batches,
    seal_pending,
    verify_chain,
)
from govflow.adapters.db.roles import APP_ROLE
from govflow.core.audit_chain import chain_hash
from govflow.settings import Settings
from govflow.usecases.audit import AuditEntry
from tests.support.engine import ROOT, process_env
from tests.support.peers import WebhookReceiver

KEY = b"k" * 40


@pytest.fixture
def sealing(tmp_path: Path) -> AuditSealing:
    return AuditSealing(key=KEY, anchor=AnchorFile(tmp_path / "anchor" / "audit-anchor.jsonl"))


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection acting as the application's role."""
    conn = await asyncpg.connect(database_url, server_settings={"role": APP_ROLE})
    yield conn
    await conn.close()


@pytest.fixture
async def attacker(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection with the append-only guards switched off."""
    conn = await asyncpg.connect(database_url)
    await conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER USER")
    await conn.execute("ALTER TABLE audit_seals DISABLE TRIGGER USER")
    yield conn
    await conn.close()


async def _append(conn: asyncpg.Connection, n: int) -> None:
    await append_audit(
        conn,
        [AuditEntry(action="TEST_EVENT", reason=f"r{i}", metadata={"i": i}) for i in range(n)],
    )


async def _sealed(app: asyncpg.Connection, sealing: AuditSealing, rows: int = 12) -> None:
    """``rows`` rows in seals of five: ids 1..5, 6..10, 11..12 as seals 1, 2, 3."""
    await _append(app, rows)
    report = await seal_pending(app, sealing, settle_seconds=0, batch=5)
    assert (report.seals, report.rows) == ((rows + 4) // 5, rows)
    assert (await verify_chain(app, sealing)).ok


async def test_seals_are_chained_anchored_and_record_their_first_row(
    app: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    seals = await app.fetch("SELECT id, first_id, last_id, row_count FROM audit_seals ORDER BY id")
    assert [tuple(s) for s in seals] == [(1, 1, 5, 5), (2, 6, 10, 5), (3, 11, 12, 2)]
    anchored = sealing.anchor.read()
    assert [(h.id, h.first_id, h.last_id) for h in anchored.heads] == [
        (1, 1, 5),
        (2, 6, 10),
        (3, 11, 12),
    ]
    await _append(app, 3)
    assert (await seal_pending(app, sealing, settle_seconds=0)).rows == 3
    assert (await seal_pending(app, sealing, settle_seconds=0)).rows == 0
    report = await verify_chain(app, sealing)
    assert report.ok, report.problems
    assert (report.seals, report.rows, report.anchored, report.unsealed) == (4, 15, 4, 0)


async def test_a_changed_row_hidden_by_deleting_later_seals_and_resealing_is_detected(
    app: asyncpg.Connection, attacker: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await attacker.execute("UPDATE audit_logs SET reason = 'rewritten' WHERE id = 7")
    await attacker.execute("DELETE FROM audit_seals WHERE id >= 2")
    with pytest.raises(SealRefused, match="seal 3, the newest anchored"):
        await seal_pending(app, sealing, settle_seconds=0, batch=5)
    assert await app.fetchval("SELECT count(*) FROM audit_seals") == 1
    problems = (await verify_chain(app, sealing)).problems
    assert "seal 2 (rows 6..10) is anchored but missing from the database" in problems
    assert "seal 3 (rows 11..12) is anchored but missing from the database" in problems


async def test_deleting_the_newest_seal_and_its_rows_is_detected(
    app: asyncpg.Connection, attacker: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await attacker.execute("DELETE FROM audit_logs WHERE id > 10")
    await attacker.execute("DELETE FROM audit_seals WHERE id = 3")
    report = await verify_chain(app, sealing)
    assert report.problems == ["seal 3 (rows 11..12) is anchored but missing from the database"]


async def test_a_seal_rewritten_with_recomputed_plain_hashes_is_detected(
    app: asyncpg.Connection, attacker: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await attacker.execute("UPDATE audit_logs SET reason = 'rewritten' WHERE id = 7")
    previous = "0" * 64
    for seal in await attacker.fetch("SELECT id, last_id FROM audit_seals ORDER BY id"):
        after = await attacker.fetchval(
            "SELECT coalesce(max(last_id), 0) FROM audit_seals WHERE id < $1", seal["id"]
        )
        rows = [
            tuple(r)
            for r in await attacker.fetch(
                "SELECT id, occurred_at, action, actor_id, actor_email, entity_type, entity_id,"
                " department_id, request_id, reason, metadata::text FROM audit_logs"
                " WHERE id > $1 AND id <= $2 ORDER BY id",
                after,
                seal["last_id"],
            )
        ]
        digest = chain_hash(previous, rows)
        await attacker.execute(
            "UPDATE audit_seals SET previous_hash = $2, hash = $3 WHERE id = $1",
            seal["id"],
            previous,
            digest,
        )
        previous = digest
    problems = (await verify_chain(app, sealing)).problems
    assert not any("changed since sealed" in p for p in problems)  # the plain chain holds
    assert "seal 2: its MAC does not match (written or changed without the key)" in problems
    assert "seal 3: its MAC does not match (written or changed without the key)" in problems
    assert "seal 2 differs from its anchored head" in problems
    with pytest.raises(SealRefused):
        await seal_pending(app, sealing, settle_seconds=0)


async def test_changed_metadata_and_null_turned_empty_are_detected(
    app: asyncpg.Connection, attacker: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await attacker.execute("""UPDATE audit_logs SET metadata = '{"i": 99}' WHERE id = 3""")
    await attacker.execute("UPDATE audit_logs SET actor_email = '' WHERE id = 8")
    problems = (await verify_chain(app, sealing)).problems
    assert problems == [
        "seal 1: rows 1..5 changed since sealed",
        "seal 2: rows 6..10 changed since sealed",
    ]


async def test_session_settings_do_not_change_the_hashes(
    database_url: str, app: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await append_audit(
        app,
        [
            AuditEntry(
                action="TEST_EVENT",
                reason=None,
                metadata={"z": 1.5, "a": [1, {"b": None, "a": "é\u0001"}], "n": 10**20},
            )
        ],
    )
    await _append(app, 4)
    assert (await seal_pending(app, sealing, settle_seconds=0)).rows == 5
    other = await asyncpg.connect(
        database_url,
        server_settings={
            "role": APP_ROLE,
            "TimeZone": "Pacific/Chatham",
            "DateStyle": "SQL, DMY",
            "IntervalStyle": "sql_standard",
            "extra_float_digits": "-3",
        },
    )
    try:
        assert await other.fetchval("SELECT occurred_at::text FROM audit_logs WHERE id = 1") != (
            await app.fetchval("SELECT occurred_at::text FROM audit_logs WHERE id = 1")
        )
        report = await verify_chain(other, sealing)
        assert report.ok, report.problems
        await other.execute("SET TimeZone = 'America/St_Johns'")
        await _append(other, 2)
        assert (await seal_pending(other, sealing, settle_seconds=0)).rows == 2
    finally:
        await other.close()
    assert (await verify_chain(app, sealing)).ok


async def test_rows_slipped_between_seals_and_unanchored_or_missing_anchors_are_reported(
    app: asyncpg.Connection, attacker: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await attacker.execute("DELETE FROM audit_logs WHERE id = 6")
    await attacker.execute(
        "INSERT INTO audit_logs (id, action) VALUES (6, 'FORGED'), (13, 'UNSEALED')"
    )
    report = await verify_chain(app, sealing)
    assert report.unsealed == 1
    assert report.problems == ["seal 2: rows 6..10 changed since sealed"]

    lines = sealing.anchor.path.read_bytes().splitlines(keepends=True)
    sealing.anchor.path.write_bytes(lines[0] + b"garbage\n" + lines[2])
    problems = (await verify_chain(app, sealing)).problems
    assert "anchor line 2: unreadable" in problems
    assert "anchored seal 3: not linked to the anchored seal before it" in problems
    assert "seal 2 is in the database but not in the anchor" in problems
    with pytest.raises(SealRefused, match="unreadable lines"):
        await seal_pending(app, sealing, settle_seconds=0)

    sealing.anchor.path.unlink()
    problems = (await verify_chain(app, sealing)).problems
    assert "no anchor file: none of the 3 seal(s) can be checked against it" in problems
    with pytest.raises(SealRefused, match=r"anchor file .* is missing"):
        await seal_pending(app, sealing, settle_seconds=0)


async def test_a_seal_left_unanchored_by_a_crash_is_anchored_by_the_next_run(
    app: asyncpg.Connection, sealing: AuditSealing
) -> None:
    await _sealed(app, sealing)
    await _append(app, 2)
    anchored = sealing.anchor.read().heads[-1]
    crashed = await _seal_batches(
        app, KEY, anchored, settle_seconds=0, batch=5, max_seals=1
    )  # committed, then the process died before anchoring
    assert [seal.id for seal in crashed] == [4]
    assert (await verify_chain(app, sealing)).problems == [
        "seal 4 is not anchored yet (the next `govflow audit seal` anchors a valid seal left "
        "unanchored by a crash)"
    ]
    report = await seal_pending(app, sealing, settle_seconds=0)
    assert (report.caught_up, report.seals) == (1, 0)
    assert (await verify_chain(app, sealing)).ok


async def test_a_wrong_key_fails_every_seal(app: asyncpg.Connection, sealing: AuditSealing) -> None:
    await _sealed(app, sealing)
    other = AuditSealing(key=b"x" * 40, anchor=sealing.anchor)
    problems = (await verify_chain(app, other)).problems
    assert sum("MAC does not match" in p for p in problems) == 6  # three seals, three anchors


async def test_each_new_head_is_posted_to_the_witness(
    app: asyncpg.Connection, sealing: AuditSealing
) -> None:
    witness = WebhookReceiver()
    await witness.start()
    try:
        witnessed = AuditSealing(key=KEY, anchor=sealing.anchor, witness_url=witness.url)
        await _append(app, 7)
        await seal_pending(app, witnessed, settle_seconds=0, batch=5)
        witness.fail_next(503)
        await _append(app, 1)
        await seal_pending(app, witnessed, settle_seconds=0)  # a witness outage only logs
    finally:
        await witness.stop()
    assert [d.payload["head"]["id"] for d in witness.deliveries] == [2]
    assert witness.deliveries[0].payload["scheme"] == "govflow-audit-v2"
    assert witness.deliveries[0].payload["head"] == {
        "id": 2,
        "first_id": 6,
        "last_id": 7,
        "row_count": 2,
        "previous_hash": sealing.anchor.read().heads[0].hash,
        "hash": sealing.anchor.read().heads[1].hash,
        "mac": sealing.anchor.read().heads[1].mac,
    }
    assert [r.status for r in witness.requests] == [202, 503]
    assert witness.deliveries[0].key == "govflow-audit-seal-2"


def _govflow(settings: Settings, anchor: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = process_env(settings, AUDIT_SEAL_KEY=KEY.decode(), AUDIT_ANCHOR_PATH=str(anchor))
    return subprocess.run(
        [sys.executable, "-m", "govflow", "audit", *args],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_the_cli_seals_verifies_and_exits_non_zero_on_a_broken_chain(
    settings: Settings, database_url: str, attacker: asyncpg.Connection, tmp_path: Path
) -> None:
    anchor = tmp_path / "cli-anchor.jsonl"
    await attacker.execute(
        "INSERT INTO audit_logs (action, occurred_at) "
        "SELECT 'TEST_EVENT', now() - interval '1 hour' FROM generate_series(1, 3)"
    )
    sealed = _govflow(settings, anchor, "seal")
    assert (sealed.returncode, sealed.stdout.strip()) == (0, "sealed 3 row(s) in 1 seal(s)")
    verified = _govflow(settings, anchor, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("1 seal(s), 3 row(s) verified; 1 seal head(s) anchored")

    await attacker.execute("UPDATE audit_logs SET reason = 'rewritten' WHERE id = 2")
    broken = _govflow(settings, anchor, "verify")
    assert broken.returncode == 1
    assert "seal 1: rows 1..3 changed since sealed" in broken.stdout.splitlines()

    await attacker.execute("DELETE FROM audit_seals")
    refused = _govflow(settings, anchor, "seal")
    assert refused.returncode == 1
    assert "refusing to seal: seal 1, the newest anchored" in refused.stderr
    assert _govflow(settings, anchor, "verify").returncode == 1
