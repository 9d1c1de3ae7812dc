"""Checking the audit seals: against their rows, their key, each other and the anchor.

The database alone cannot prove that nothing was removed from its end: whoever deletes the
newest seals and their rows leaves a shorter chain that is still consistent. The anchor (the
seal heads as written outside PostgreSQL, each with its MAC) closes that gap: every anchored
head must still be in the database, unchanged, and every seal in the database must be anchored.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from govflow.core.audit_chain import GENESIS, SealHead, mac_ok


class SealCheck(msgspec.Struct, frozen=True, kw_only=True):
    """A seal from the database with what its range of ids holds now.

    ``after`` is the previous seal's ``last_id`` (0 for the first): the range is
    ``after + 1 .. head.last_id``, so rows slipped in between two seals count too.
    """

    head: SealHead
    after: int
    rows: int
    first_row: int | None
    hash: str


class AnchorView(msgspec.Struct, frozen=True, kw_only=True):
    """The anchor as read: whether it exists, its heads, and the numbers of unreadable lines."""

    present: bool
    heads: list[SealHead] = msgspec.field(default_factory=list)
    unreadable: list[int] = msgspec.field(default_factory=list)


def seal_problems(key: bytes, seals: Sequence[SealCheck]) -> list[str]:
    """What no longer matches in the database's chain, seal by seal (in ``last_id`` order)."""
    problems: list[str] = []
    previous = GENESIS
    for check in seals:
        head = check.head
        span = f"{check.after + 1}..{head.last_id}"
        if head.previous_hash != previous:
            problems.append(f"seal {head.id}: not linked to the seal before it")
        if not mac_ok(key, head):
            problems.append(
                f"seal {head.id}: its MAC does not match (written or changed without the key)"
            )
        if check.rows != head.row_count:
            problems.append(
                f"seal {head.id}: {check.rows} rows in ids {span}, {head.row_count} were sealed"
            )
        elif check.first_row != head.first_id:
            problems.append(
                f"seal {head.id}: its first row is {check.first_row}, {head.first_id} was sealed"
            )
        if check.hash != head.hash:
            problems.append(f"seal {head.id}: rows {span} changed since sealed")
        previous = head.hash
    return problems


def anchor_problems(key: bytes, seals: Sequence[SealHead], anchor: AnchorView) -> list[str]:
    """How the database's seals and the anchor disagree, and what is wrong in the anchor."""
    if not anchor.present:
        if not seals:
            return []
        return [f"no anchor file: none of the {len(seals)} seal(s) can be checked against it"]
    problems = [f"anchor line {number}: unreadable" for number in anchor.unreadable]
    stored = {head.id: head for head in seals}
    anchored_ids: set[int] = set()
    previous = GENESIS
    for head in anchor.heads:
        anchored_ids.add(head.id)
        if not mac_ok(key, head):
            problems.append(f"anchored seal {head.id}: its MAC does not match")
        if head.previous_hash != previous:
            problems.append(f"anchored seal {head.id}: not linked to the anchored seal before it")
        previous = head.hash
        in_database = stored.get(head.id)
        if in_database is None:
            problems.append(
                f"seal {head.id} (rows {head.first_id}..{head.last_id}) is anchored "
                "but missing from the database"
            )
        elif in_database != head:
            problems.append(f"seal {head.id} differs from its anchored head")
    newest = max(anchored_ids, default=0)
    for head in seals:
        if head.id in anchored_ids:
            continue
        if head.id > newest:
            problems.append(
                f"seal {head.id} is not anchored yet (the next `govflow audit seal` anchors "
                "a valid seal left unanchored by a crash)"
            )
        else:
            problems.append(f"seal {head.id} is in the database but not in the anchor")
    return problems
