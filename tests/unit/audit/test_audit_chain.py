"""The canonical encoding, the chain hash, the MAC and the pure verification of seals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import msgspec
import pytest

from govflow.core.audit_chain import (
    GENESIS,
    SealHead,
    canonical_row,
    chain_hash,
    mac_ok,
    signed,
)
from govflow.core.audit_verification import AnchorView, SealCheck, anchor_problems, seal_problems

KEY = b"k" * 32
WHEN = datetime(2024, 3, 1, 12, 30, 0, 5, tzinfo=UTC)
ACTOR = UUID("12345678-1234-5678-1234-567812345678")


def row(**changes: object) -> list[object]:
    values: dict[str, object] = {
        "id": 7,
        "occurred_at": WHEN,
        "action": "LOGIN_SUCCESS",
        "actor_id": ACTOR,
        "actor_email": None,
        "entity_type": "user",
        "entity_id": "42",
        "department_id": None,
        "request_id": "req-1",
        "reason": None,
        "metadata": '{"a": 1, "bb": [1.50, null]}',
    }
    values.update(changes)
    return list(values.values())


def test_the_encoding_is_fixed_and_independent_of_the_time_zone_given() -> None:
    assert canonical_row(row()) == (
        b'[7,"2024-03-01T12:30:00.000005Z","LOGIN_SUCCESS",'
        b'"12345678-1234-5678-1234-567812345678",null,"user","42",null,"req-1",null,'
        b'"{\\"a\\": 1, \\"bb\\": [1.50, null]}"]'
    )
    elsewhere = WHEN.astimezone(timezone(timedelta(hours=-3, minutes=-30)))
    assert canonical_row(row(occurred_at=elsewhere)) == canonical_row(row())


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": ""},
        {"reason": "null"},
        {"actor_email": ""},
        {"metadata": '{"a": 1, "bb": [1.5, null]}'},
        {"occurred_at": WHEN + timedelta(microseconds=1)},
        {"id": 8},
    ],
)
def test_every_difference_changes_the_hash(changes: dict[str, object]) -> None:
    assert chain_hash(GENESIS, [row(**changes)]) != chain_hash(GENESIS, [row()])


def test_values_without_a_canonical_form_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        canonical_row(row(occurred_at=datetime(2024, 3, 1)))
    with pytest.raises(TypeError):
        canonical_row(row(reason=1.5))
    with pytest.raises(ValueError, match="11 values"):
        canonical_row(row()[:-1])


def test_the_hash_chains_and_covers_order_and_count() -> None:
    rows = [row(id=1), row(id=2)]
    assert chain_hash(GENESIS, rows) != chain_hash("1" * 64, rows)
    assert chain_hash(GENESIS, rows) != chain_hash(GENESIS, rows[::-1])
    assert chain_hash(GENESIS, rows) != chain_hash(GENESIS, rows[:1])


def _chain(count: int) -> list[SealHead]:
    heads, previous = [], GENESIS
    for n in range(1, count + 1):
        head = signed(
            KEY,
            SealHead(
                id=n,
                first_id=5 * n - 4,
                last_id=5 * n,
                row_count=5,
                previous_hash=previous,
                hash=f"{n:064x}",
            ),
        )
        heads.append(head)
        previous = head.hash
    return heads


def test_the_mac_covers_every_field_and_needs_the_key() -> None:
    head = _chain(1)[0]
    assert mac_ok(KEY, head)
    assert not mac_ok(b"x" * 32, head)
    for field, value in [("id", 2), ("first_id", 2), ("last_id", 6), ("row_count", 4),
                         ("previous_hash", "1" * 64), ("hash", "2" * 64)]:  # fmt: skip
        assert not mac_ok(KEY, msgspec.structs.replace(head, **{field: value}))


def _checks(heads: list[SealHead]) -> list[SealCheck]:
    return [
        SealCheck(head=h, after=h.first_id - 1, rows=5, first_row=h.first_id, hash=h.hash)
        for h in heads
    ]


def test_a_consistent_chain_and_anchor_have_no_problem() -> None:
    heads = _chain(3)
    assert seal_problems(KEY, _checks(heads)) == []
    assert anchor_problems(KEY, heads, AnchorView(present=True, heads=heads)) == []
    assert anchor_problems(KEY, [], AnchorView(present=False)) == []


def test_seal_problems_name_each_mismatch() -> None:
    heads = _chain(3)
    checks = _checks(heads)
    checks[0] = msgspec.structs.replace(checks[0], hash="f" * 64)
    checks[1] = msgspec.structs.replace(checks[1], rows=4)
    checks[2] = msgspec.structs.replace(checks[2], first_row=12)
    assert seal_problems(KEY, checks) == [
        "seal 1: rows 1..5 changed since sealed",
        "seal 2: 4 rows in ids 6..10, 5 were sealed",
        "seal 3: its first row is 12, 11 was sealed",
    ]
    unlinked = msgspec.structs.replace(heads[1], previous_hash="e" * 64)
    assert seal_problems(KEY, _checks([heads[0], unlinked])) == [
        "seal 2: not linked to the seal before it",
        "seal 2: its MAC does not match (written or changed without the key)",
    ]


def test_anchor_problems_find_removed_rewritten_and_unanchored_seals() -> None:
    heads = _chain(4)
    anchor = AnchorView(present=True, heads=heads[:3])
    rewritten = msgspec.structs.replace(heads[1], hash="d" * 64)
    assert anchor_problems(KEY, [heads[0], rewritten, heads[3]], anchor) == [
        "seal 2 differs from its anchored head",
        "seal 3 (rows 11..15) is anchored but missing from the database",
        "seal 4 is not anchored yet (the next `govflow audit seal` anchors a valid seal left "
        "unanchored by a crash)",
    ]
    forged = AnchorView(
        present=True, heads=[heads[0], msgspec.structs.replace(heads[2], mac="0" * 64)]
    )
    assert anchor_problems(KEY, heads[:3], forged) == [
        "anchored seal 3: its MAC does not match",
        "anchored seal 3: not linked to the anchored seal before it",
        "seal 3 differs from its anchored head",
        "seal 2 is in the database but not in the anchor",
    ]
    assert anchor_problems(KEY, heads, AnchorView(present=False)) == [
        "no anchor file: none of the 4 seal(s) can be checked against it"
    ]
